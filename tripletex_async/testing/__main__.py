"""``python -m tripletex_async.testing``: serve the simulator on a loopback port."""

from tripletex_async.testing._cli import main

if __name__ == "__main__":
    raise SystemExit(main())
