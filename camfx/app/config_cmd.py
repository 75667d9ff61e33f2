"""``camfx config``: where settings were looked for, which files were read, and the merged result."""
from .common import add_config_option, load_config
from .config import ENV_VAR, to_toml


def add_parser(commands):
    config = commands.add_parser(
        "config", help="show which config files are read and the settings they make",
        description="Print the config files camfx looks for, in order (each over the one before; "
                    f"command-line options come last), which were read, and the merged settings as TOML. "
                    f"The project's file is --config PATH, else ${ENV_VAR}, else ./config.toml.")
    add_config_option(config)
    config.set_defaults(run=cmd_config)


def cmd_config(args):
    config = load_config(args.config, note=lambda message: None)  # said below instead
    print("# camfx looks for settings here, each over the one before; command-line options override all:")
    for role, path, status in config.lookup:
        print(f"#   {role:<8} {path.absolute()}: {status}")
    print("# merged settings:")
    print(to_toml(config.sections).rstrip("\n"))
    return 0
