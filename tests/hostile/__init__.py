"""Hostile and broken submissions for the grading tests (see corpus.py), and their helpers (course.py)."""
