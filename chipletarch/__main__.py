"""`python -m chipletarch` runs the same CLI as the `chipletarch` command."""
import sys

from .cli import main

sys.exit(main())
