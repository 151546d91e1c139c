// GNU readline (Debian: libreadline-dev), linked into the runql shell through ReadlineShim.
#include <stdio.h>
#include <readline/readline.h>
#include <readline/history.h>
