from revisit.cli import main

raise SystemExit(main())
