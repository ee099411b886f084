"""Plain data: frozen dataclasses for rollwave's resources, parsed from API dicts.

camelCase exists only at the `from_dict`/`to_dict` edges. Parsing never drops a field silently: fields we do not
support are returned by path so that the controller can report them in a condition and an Event.
No I/O, no clock, no kopf or kubernetes imports here.
"""
