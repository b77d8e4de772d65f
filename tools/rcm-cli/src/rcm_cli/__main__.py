from rcm_cli.app import main

main()
