"""Traffic routers, one module each behind `routers.base.TrafficRouter`.

Rendering of router objects is pure; only get/patch touches the API.
"""
