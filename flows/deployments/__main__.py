"""``python -m flows.deployments``: :func:`flows.deployments.cli.main`."""

from flows.deployments.cli import main

if __name__ == "__main__":
    main()
