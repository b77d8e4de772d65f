from charges.entrypoints.cli import main

raise SystemExit(main())
