"""Task controller_post_deployment (every controller): Nova's console tokens shared through memcached."""
from xenserver_plugin import astute, controller, runner, steps

TASK = "controller_post_deployment"


def body(args, data):
    astute.plugin_settings(data)
    run = steps.Run(dry_run=args.dry_run)
    controller.ensure_console_cache(run, data)
    return run.summary()


def main(argv):
    return runner.run(TASK, body, argv)
