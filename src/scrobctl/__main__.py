from scrobctl.cli import main

main()
