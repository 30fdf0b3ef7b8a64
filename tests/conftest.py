import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# Tests send Ctrl-C (SIGINT) to the commands they start. A shell without job control starts a
# background pytest with SIGINT ignored, which its children would inherit (and then never stop):
# handle it as Python does by default, so that the children start with the default disposition.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
