"""``python -m pactmatch.cli``."""

from pactmatch.cli import main

main()
