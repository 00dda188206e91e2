"""Operations shared by every module's command line: ``serve`` (the production start
command), ``backup`` and ``restore`` (pg_dump / pg_restore with the migration revision).
Each service's ``cli.py`` adds them with :func:`avelar_kit.ops.cli.add_ops_commands`."""
