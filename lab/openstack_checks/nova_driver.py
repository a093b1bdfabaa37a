"""Nova's own XenAPI driver against a host, as nova-compute would build it (runs in a compute VM, Python 2.7).

    <venv-nova27>/bin/python nova_driver.py --config-file /etc/nova/nova.conf \
        --config-file /etc/nova/nova-compute.conf [--config-file lab-test-only.conf]

Loads the config files in that order (later ones win, as for nova-compute), builds the driver named by
`compute_driver` through nova.virt.driver.load_compute_driver, then calls init_host, get_available_nodes,
get_available_resource and list_instances. Prints one JSON object on stdout: what the driver reported, or
{"ok": false, "stage": ..., "error": ...} when a call raised (exit status 1). No database, broker or other
service is involved. Python 2.7 and 3 syntax: the lab (Python 3.11) never imports this file.
"""
import json
import logging
import sys
import traceback

STAGES = ("config", "load_compute_driver", "init_host", "get_available_nodes", "get_available_resource",
          "list_instances")


def config_files(argv):
    files = []
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--config-file" and args:
            files.append(args.pop(0))
        else:
            raise SystemExit("usage: nova_driver.py --config-file FILE [--config-file FILE ...]")
    return files


def report(files):
    result = {"ok": False, "config_files": files}
    stage = "config"
    try:
        import nova.conf
        from nova import config

        config.parse_args(["nova-compute"] + [x for f in files for x in ("--config-file", f)])
        conf = nova.conf.CONF
        result["compute_driver"] = conf.compute_driver
        from nova import objects
        from nova.virt import driver

        objects.register_all()
        stage = "load_compute_driver"
        drv = driver.load_compute_driver(None, conf.compute_driver)
        result["driver_class"] = type(drv).__module__ + "." + type(drv).__name__
        stage = "init_host"
        drv.init_host(conf.host)
        stage = "get_available_nodes"
        nodes = drv.get_available_nodes()
        result["nodes"] = nodes
        stage = "get_available_resource"
        resource = drv.get_available_resource(nodes[0])
        for key in ("hypervisor_type", "hypervisor_hostname", "hypervisor_version", "vcpus", "memory_mb",
                    "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used"):
            result[key] = resource.get(key)
        stage = "list_instances"
        result["instances"] = drv.list_instances()
        result["ok"] = True
    except (Exception, SystemExit) as error:  # noqa: BLE001 - reported to the lab, which fails the row
        result["stage"] = stage
        result["error"] = type(error).__name__ + ": " + str(error)
        result["traceback"] = traceback.format_exc()[-3000:]
    return result


def main(argv):
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    result = report(config_files(argv))
    sys.stdout.write(json.dumps(result, sort_keys=True, default=str) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
