"""Orchestration: read the cluster into a view, ask the core for a Decision, apply its effects, write status once.

Effects are idempotent, so a controller that crashes between applying effects and writing status re-derives the
same effects on its next pass and changes nothing twice.
"""
