"""Text-conditioned film synthesis for teaching: generators trained on a case library's films and
reports, their evaluation, and marked output that can never pass for a patient's film.

Core code (no Qt); torch is imported inside the modules that train or draw, which run in a
worker or a command, never at start-up.
"""
