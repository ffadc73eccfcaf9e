# Read by every `%%bash` cell when the site is built (docs/conf.py sets BASH_ENV to this file):
# a command that fails anywhere in a cell stops the cell with its status, and so fails the
# build, as a failing Python cell does. Without it a cell reports only its last command's status.
set -e -o pipefail
