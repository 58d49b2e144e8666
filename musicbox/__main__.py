from musicbox.cli.app import main

main()
