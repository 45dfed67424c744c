"""Template-owned standards: every cross-cutting concern of the service.

Do not edit these modules: ``copier update`` replaces them and the fleet audit reports
changes. Extend through ``settings.py``, ``main.py`` and the service's own modules instead.
"""
