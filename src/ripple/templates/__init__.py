"""App templates for ``ripple init``: one folder per template."""
