from scrobctl.entry import main

main()
