import sys

from purerl.cli import main

sys.exit(main())
