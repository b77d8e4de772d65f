from stays.entrypoints.cli import main

raise SystemExit(main())
