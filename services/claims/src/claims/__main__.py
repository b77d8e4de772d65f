from claims.entrypoints.cli import main

raise SystemExit(main())
