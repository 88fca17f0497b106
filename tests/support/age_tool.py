"""An independent age implementation (pyrage, the Python binding of the `rage` crate) for
the backup encryption tests.

    age_tool.py keygen           -> two lines: AGE-SECRET-KEY-1..., age1...
    age_tool.py decrypt KEY IN   -> the plain bytes of age file IN on stdout (KEY: a file
                                    holding the identity)
"""
import sys

import pyrage


def main() -> int:
    cmd = sys.argv[1]
    if cmd == "keygen":
        ident = pyrage.x25519.Identity.generate()
        print(str(ident))
        print(str(ident.to_public()))
        return 0
    if cmd == "decrypt":
        with open(sys.argv[2]) as f:
            ident = pyrage.x25519.Identity.from_str(f.read().strip())
        with open(sys.argv[3], "rb") as f:
            blob = f.read()
        sys.stdout.buffer.write(pyrage.decrypt(blob, [ident]))
        return 0
    print(f"unknown command {cmd}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
