from edi_gateway.entrypoints.cli import main

raise SystemExit(main())
