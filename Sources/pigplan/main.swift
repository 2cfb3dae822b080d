import PigPlanCommands

PigPlanCommand.main()
