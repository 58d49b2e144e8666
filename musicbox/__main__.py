from musicbox.cli import main

main()
