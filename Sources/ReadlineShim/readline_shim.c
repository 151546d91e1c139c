#include "readline_shim.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <readline/readline.h>
#include <readline/history.h>

static volatile sig_atomic_t reading = 0;
static volatile sig_atomic_t interrupted = 0;
static volatile sig_atomic_t cancel = 0;
static runql_completer_t completer = NULL;
static char *primary = NULL;
static char **matches = NULL;
static int next_match = 0;

static void on_interrupt(int signal_number) {
    (void)signal_number;
    if (reading) {
        // Clear the half-typed statement and start again at the primary prompt.
        interrupted = 1;
        (void)!write(STDOUT_FILENO, "^C\n", 3);
        rl_replace_line("", 0);
        rl_set_prompt(primary);
        rl_on_new_line();
        rl_redisplay();
    } else {
        cancel = 1;
    }
}

static char *next_completion(const char *text, int state) {
    (void)text;
    if (state == 0) next_match = 0;
    if (!matches || !matches[next_match]) return NULL;
    return strdup(matches[next_match++]);
}

static void free_matches(void) {
    if (!matches) return;
    for (int index = 0; matches[index]; index++) free(matches[index]);
    free(matches);
    matches = NULL;
}

static char **attempt_completion(const char *text, int start, int end) {
    (void)end;
    free_matches();
    matches = completer(rl_line_buffer ? rl_line_buffer : "", start, text);
    if (!matches) {
        rl_attempted_completion_over = 0;  // readline completes file names
        return NULL;
    }
    rl_attempted_completion_over = 1;
    if (!matches[0]) return NULL;
    if (!matches[1]) {
        size_t length = strlen(matches[0]);
        // After `config.` or `lower(` the user goes on typing: no space.
        if (length > 0 && (matches[0][length - 1] == '(' || matches[0][length - 1] == '.')) rl_completion_append_character = '\0';
    }
    return rl_completion_matches(text, next_completion);
}

void runql_readline_setup(const char *history_path, const char *primary_prompt, runql_completer_t function) {
    completer = function;
    free(primary);
    primary = strdup(primary_prompt);
    rl_readline_name = "runql";
    rl_catch_signals = 0;
    rl_completer_word_break_characters = " \t\n(),;=<>+*|";
    rl_completer_quote_characters = "'";
    rl_attempted_completion_function = attempt_completion;
    using_history();
    read_history(history_path);
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, NULL);
    // A parent may have started us with these blocked or ignored: Ctrl-C must reach the
    // handler, and a closed terminal (SIGHUP) or a kill (SIGTERM) must end the shell.
    signal(SIGHUP, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t wanted;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGHUP);
    sigaddset(&wanted, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &wanted, NULL);
}

char *runql_readline(const char *prompt) {
    reading = 1;
    char *line = readline(prompt);
    reading = 0;
    // readline gives an empty line, not NULL, when the terminal has gone away (a read error):
    // treat a hung-up terminal as the end of input instead of reading again forever.
    if (line && line[0] == '\0') {
        struct pollfd input = {.fd = STDIN_FILENO, .events = POLLIN, .revents = 0};
        if (poll(&input, 1, 0) > 0 && (input.revents & (POLLHUP | POLLERR | POLLNVAL))) {
            free(line);
            return NULL;
        }
    }
    return line;
}

void runql_history_add(const char *entry, const char *history_path) {
    add_history(entry);
    // Written after every statement, so a killed shell keeps what was typed.
    if (append_history(1, history_path) != 0) write_history(history_path);
    history_truncate_file(history_path, 5000);
}

int runql_take_interrupt(void) {
    int was = interrupted;
    interrupted = 0;
    return was;
}

int runql_cancel_requested(void) { return cancel; }

void runql_clear_cancel(void) { cancel = 0; }
