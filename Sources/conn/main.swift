import ConnCommands

ConnMain.mainEntry()
