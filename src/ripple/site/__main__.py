"""``python -m ripple.site build SRC OUT``."""

from ripple.site.cli import site

if __name__ == "__main__":
    site(prog_name="ripple site")
