from citewise.api.cli.main import main

main()
