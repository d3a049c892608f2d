import sys

from explorer.serve import main

sys.exit(main())
