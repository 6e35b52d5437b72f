"""`python -m learninngest` hands over to the CLI."""

from learninngest.cli import main

raise SystemExit(main())
