"""``python -m cli`` runs ``cox``."""

from cli.main import main

if __name__ == "__main__":
    main()
