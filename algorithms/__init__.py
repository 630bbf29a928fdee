"""Algorithms written once against the backend protocol (numpy + ``backends`` only).

The estimators arrive with the algorithms issue; this package never imports an engine.
"""
