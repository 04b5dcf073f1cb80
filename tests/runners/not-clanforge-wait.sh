#!/bin/sh
# What a tampered release would hold: it must never run.
echo "TAMPERED BINARY RAN"
echo "CLANFORGE_RESULT=success" > "${CLANFORGE_DOTENV:-/dev/null}"
