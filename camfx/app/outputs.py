"""``camfx outputs``: which outputs of ``camfx live --output`` can work on this machine, and for
the others, why not and the command that would make them work."""


def add_parser(commands):
    outputs = commands.add_parser("outputs", help="list the outputs camfx live can send frames to, here",
                                  description="List the outputs of camfx live --output SPEC and whether each "
                                              "can work on this machine; for one that cannot, why, and how to "
                                              "make it work.")
    outputs.set_defaults(run=cmd_outputs)


def cmd_outputs(args):
    from ..outputs.specs import KINDS, availability
    for kind, works, detail in availability():
        takes = KINDS[kind][0]
        form = kind if takes is None else f"{kind}:{takes}" if takes == "PATH" else f"{kind}[:DEVICE]"
        print(f"{form:<14} {'yes' if works else 'no ':<4} {KINDS[kind][1]}")
        print(f"{'':<19} {detail}")
    return 0
