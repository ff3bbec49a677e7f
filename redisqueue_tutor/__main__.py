from redisqueue_tutor.cli import main

main()
