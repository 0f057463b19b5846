import ConnCommands
ConnMain.main()
