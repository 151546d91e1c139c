import RunQLCLI
RunQL.main()
