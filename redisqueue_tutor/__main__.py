from redisqueue_tutor.launch import main

main()
