#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Documentation and argument spec. The module itself is the compiled postform
# binary in files/bin/main_cf_<system>_<arch>; the action plugin of the same
# name checks the option names against the argument spec below on the
# controller, picks the binary for the target and runs it. This file is never
# sent to a target; its main() only explains that (ansible-test's
# validate-modules runs it to compare the documentation with the spec).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: main_cf
short_description: Keep Postfix main.cf in a declared state
version_added: 0.1.0
description:
  - Makes Postfix's C(main.cf) contain exactly the parameters you declare, using the
    L(postform,https://crates.io/crates/postform) engine compiled into the module.
  - Reads C(main.cf) losslessly and edits only the entries that change; comments, blank
    lines, ordering and unusual bytes survive. Values are compared the way Postfix reads
    them (list parameters as token sequences, booleans case-insensitively), so a run
    that changes nothing writes nothing and reports C(changed=false).
  - Validates before writing, parameter names (with a "did you mean" suggestion),
    types, enumerations and cross-parameter rules; when C(postconf) is installed the
    candidate file is also checked by Postfix in a scratch directory. The write is
    atomic and keeps the file's mode, owner and symlink.
  - Reports what the change needs from Postfix in RV(service_action). Some parameters
    (for example C(inet_protocols) and C(inet_interfaces)) only take effect
    after a full restart; a C(postfix reload) does not apply them. By default the
    module does not touch the service (O(service=none)); notify one handler that
    restarts or reloads according to the registered RV(service_action).
  - The module is a native binary (Linux x86_64 and aarch64, as the installed collection
    provides them). It needs no Python on the target.
  - B(Restart or reload through the pending action, not through the register.) After
    every successful run the action plugin records the strongest service action each
    config dir still needs in the host fact C(postform_postfix_pending), a dictionary
    config dir to action such as V(restart) for C(/etc/postfix) (V(none) < V(reload) <
    V(restart)). Notify the
    handler of the role C(postform.postfix.service) (topic C(postform.postfix.service)),
    or your own handler running M(postform.postfix.service_action), which runs each
    pending action once and clears it. This survives several tasks, loops and reused
    C(register) variables; a handler that reads one registered RV(service_action) does
    not (a later no-op task overwrites the register and the restart is lost).
author:
  - postform developers (@postform)
requirements:
  - A Linux target whose architecture has a binary in the collection (C(files/bin/main_cf_linux_<arch>)).
  - A remote temporary directory (C(ansible_remote_tmp)) on a filesystem that allows
    executing files; a C(noexec) one fails with a message saying so.
  - Postfix's C(postconf) on the target for the candidate check (skipped with a warning
    when it is missing).
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.facts
options:
  parameters:
    description:
      - Postfix parameters C(main.cf) must define, as a dictionary of name to value.
      - A string is written as is; a boolean as C(yes)/C(no); an integer in decimal;
        a list as its items joined with C(, ) (folded onto continuation lines when long).
      - V(null) (or C(~)) means C(main.cf) must not define the parameter (Postfix then
        uses its default), like C(postconf -X).
      - Quote numbers with a fraction, such as C(compatibility_level), since YAML turns
        V(3.10) into the number 3.1; the module refuses fractional numbers.
      - Parameters not named here are left alone unless O(purge=true).
      - Required unless O(spec) is given. With both, O(spec) is read first and each
        entry of O(parameters) overrides or adds to it.
    type: dict
  spec:
    description:
      - "A postform spec, either the path of a spec file on the target (YAML, short or
        full form, with C(extends) layers resolved relative to the file) or an inline
        spec (a dictionary in the spec-file form, for example
        C({main: {inet_protocols: ipv4}, purge: false}))."
      - Use an absolute path; a relative one is resolved against the module's working
        directory on the target (the login directory over SSH).
      - Required unless O(parameters) is given.
    type: raw
  config_dir:
    description:
      - The Postfix configuration directory holding C(main.cf) (and C(master.cf), used
        to recognise service-derived parameter names), like C(postconf -c).
      - A leading C(~) or C(~user) is expanded on the target, as the target's user sees it.
      - In check mode a missing C(main.cf) (a fresh host whose package task only would
        install Postfix) is not an error; see RV(main_cf_exists).
    type: path
    default: /etc/postfix
  purge:
    description:
      - Also remove every parameter the desired state does not name, so C(main.cf)
        defines exactly the declared parameters.
      - When not given, the spec's own C(purge) applies (default V(false)).
    type: bool
  validate:
    description:
      - Validate the desired values and the candidate file (with C(postconf) when
        installed) before writing. Problems the live file already has are warnings;
        problems the change would introduce fail the task.
      - A boolean, not a command with C(%s) as in M(ansible.builtin.copy); the checks are
        built in.
    type: bool
    default: true
  service:
    description:
      - What to do with the Postfix service after a change.
      - V(none) never touches it; the action stays pending for the handler (see the
        description).
      - V(auto) runs what the change needs (restart or reload, nothing when no
        effective value changed), and only when Postfix is running.
      - V(reload) or V(restart) run that action after any effective change.
      - "A dictionary C({reload: [argv...], restart: [argv...]}) runs those commands
        (no shell) instead of detecting systemd or C(postfix -c DIR)."
      - When not given, the spec's own C(service) applies, else V(none).
    type: raw
  backup:
    description:
      - Keep a timestamped copy of the previous C(main.cf) next to it when the file
        changes. Its path is returned in RV(backup_file).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Computes and reports the change, its diff and RV(service_action) without writing.
  diff_mode:
    support: full
    details: Returns the whole C(main.cf) before and after the change.
  platform:
    platforms: linux
    support: full
    details: Linux targets whose architecture has a binary in the collection.
  action:
    support: full
    details: The action plugin checks option names and picks the binary on the controller.
  async:
    support: full
    details: The pending service action is not recorded for async tasks; notify nothing and run your own handler.
  bypass_host_loop:
    support: none
  facts:
    support: full
    details: Sets C(postform_postfix_pending).
notes:
  - The binary for each platform lives in the collection under
    C(files/bin/main_cf_linux_<arch>); the action plugin picks it from the
    C(ansible_system)/C(ansible_architecture) facts when gathered, else runs
    C(uname -s -m) on the target.
  - Writing C(/etc/postfix/main.cf) needs root; use C(become).
  - With C(no_log) the values in RV(changes) are hidden and no diff is returned.
  - The binary is copied to the target on every task (binary modules are not
    pipelined), so one task with many parameters is much cheaper than many tasks.
  - A play that fails after a change but before its handlers run loses the pending
    action with the play (facts are not kept between runs unless fact caching is on);
    use C(force_handlers) / C(--force-handlers) so the reload or restart still happens.
seealso:
  - module: postform.postfix.service_action
  - name: postform documentation
    description: The CLI, the spec format and the GitOps mode share this engine.
    link: https://crates.io/crates/postform
"""

EXAMPLES = r"""
# The seed case: a relay whose IPv6 mail bounces at Gmail. inet_protocols only
# takes effect after a full restart. Add the role postform.postfix.service to
# the play (roles: [postform.postfix.service]); its handler runs the strongest
# action every notifying task left pending (per config dir) once, however many
# tasks, loop items or reused registers. Without the role, write the handler:
#   handlers:
#     - name: Reload or restart Postfix as the changes need
#       listen: postform.postfix.service
#       postform.postfix.service_action:
- name: Postfix talks IPv4 only
  postform.postfix.main_cf:
    parameters:
      inet_protocols: ipv4
  become: true
  notify: postform.postfix.service

- name: Several parameters with typed values; remove relayhost
  postform.postfix.main_cf:
    parameters:
      smtpd_banner: "$myhostname ESMTP"
      biff: false                       # written as "no"
      message_size_limit: 52428800
      mynetworks:
        - 127.0.0.0/8
        - "[::1]/128"
      compatibility_level: "3.6"        # quoted: YAML would make 3.10 the number 3.1
      relayhost: null                   # no definition: Postfix uses its default
  become: true
  notify: postform.postfix.service

- name: A host spec file from a GitOps checkout on the target, with an override
  postform.postfix.main_cf:
    spec: /srv/postfix-specs/hosts/{{ inventory_hostname }}.yaml
    parameters:
      inet_protocols: ipv4
  become: true

- name: Exactly these parameters, nothing else; let postform restart or reload
  postform.postfix.main_cf:
    spec:
      main:
        myhostname: "{{ inventory_hostname }}"
        inet_interfaces: loopback-only
        inet_protocols: ipv4
        mydestination: []
      purge: true
    service: auto
    backup: true
  become: true

- name: Two Postfix instances in a loop; each gets its own pending action
  postform.postfix.main_cf:
    config_dir: "{{ item.dir }}"
    parameters: "{{ item.parameters }}"
  loop:
    - {dir: /etc/postfix, parameters: {inet_protocols: ipv4}}
    - {dir: /etc/postfix-out, parameters: {smtp_bind_address: 192.0.2.25}}
  notify: postform.postfix.service

- name: Preview on all relays without touching anything
  postform.postfix.main_cf:
    parameters:
      inet_protocols: ipv4
  check_mode: true
  diff: true
  register: preview

- name: Show what the change would need
  ansible.builtin.debug:
    msg: "{{ preview.changes | map(attribute='name') | list }} need {{ preview.service_action }}"
"""

RETURN = r"""
# On failure the result holds only changed (false), failed, msg and, when the
# options could be read, invocation: every key marked "success" is absent.
changed:
  description: Whether C(main.cf) changed (in check mode, whether it would change).
  returned: always
  type: bool
  sample: true
msg:
  description:
    - A one-line account of what was (or would be) changed and what Postfix needs.
    - On failure, what went wrong (with file:line and a hint where there is one).
  returned: always
  type: str
  sample: "changed 1 parameter in /etc/postfix/main.cf: inet_protocols (restart); Postfix needs a restart (service_action=restart)"
changes:
  description: The planned changes, one per parameter, in the order of the plan.
  returned: success
  type: list
  elements: dict
  contains:
    name:
      description: Parameter name.
      type: str
      sample: inet_protocols
    kind:
      description: >-
        V(add) (main.cf gains a definition), V(change) (the effective value changes),
        V(remove) (every definition goes; Postfix uses its default) or V(dedupe) (the
        value already matches; dead earlier duplicates are removed).
      type: str
      sample: change
    before:
      description: Effective value before, as C(postconf -n) prints it; null when not defined.
      type: str
      sample: all
    after:
      description: Effective value after; null when removed.
      type: str
      sample: ipv4
    action:
      description: What this change needs from Postfix, V(restart), V(reload) or V(none).
      type: str
      sample: restart
  sample:
    - name: inet_protocols
      kind: change
      before: all
      after: ipv4
      action: restart
service_action:
  description:
    - What this task's change needs from Postfix, the strongest of its changes - V(restart)
      (stop and start; for example inet_protocols, inet_interfaces), V(reload), or V(none)
      (nothing, or nothing effective, changed).
    - Reported in check mode too. For handlers use the pending fact instead (see the
      description); it also remembers what earlier tasks needed.
  returned: success
  type: str
  sample: restart
service_ran:
  description: The service action the module actually ran, V(restart), V(reload) or V(none).
  returned: success
  type: str
  sample: none
service_message:
  description: What the service step did, or why it did nothing (e.g. Postfix not running, check mode).
  returned: success
  type: str
  sample: Postfix is not running, so nothing was restarted; the change takes effect when it starts
main_cf:
  description: Path of the main.cf file the module worked on.
  returned: success
  type: str
  sample: /etc/postfix/main.cf
config_dir:
  description: The config dir as the target resolved it (C(~) expanded, trailing C(/) removed); the key of the pending action.
  returned: success
  type: str
  sample: /etc/postfix
main_cf_exists:
  description:
    - V(false) when C(main.cf) does not exist and the task ran in check mode. The plan is then
      made against an empty C(main.cf); RV(changes) are the parameters the task sets, and a
      warning says so. Outside check mode a missing C(main.cf) fails the task.
  returned: in check mode, when main.cf does not exist
  type: bool
  sample: false
backup_file:
  description: Path of the copy of the previous main.cf.
  returned: when O(backup=true) and main.cf changed
  type: str
  sample: /etc/postfix/main.cf.postform-backup-20240501T120000Z
diff:
  description:
    - The whole main.cf before and after (bytes that are not UTF-8 are shown as U+FFFD).
  returned: in diff mode, when main.cf changes and no_log is off
  type: dict
  contains:
    before:
      description: main.cf before.
      type: str
    after:
      description: main.cf after.
      type: str
    before_header:
      description: C(<config_dir>/main.cf (before)).
      type: str
    after_header:
      description: C(<config_dir>/main.cf (after)).
      type: str
warnings:
  description: Problems the live configuration already has, and option warnings.
  returned: when there are any
  type: list
  elements: str
ansible_facts:
  description: Facts the action plugin sets on the host.
  returned: success, except for async tasks
  type: dict
  contains:
    postform_postfix_pending:
      description:
        - Config dir -> V(reload) or V(restart), the strongest action still pending per
          directory. M(postform.postfix.service_action) runs and clears it.
      type: dict
      sample: {"/etc/postfix": "restart"}
"""


from ansible.module_utils.basic import AnsibleModule
from ansible_collections.postform.postfix.plugins.module_utils.argspecs import (
    MAIN_CF_ARGUMENT_SPEC,
    MAIN_CF_REQUIRED_ONE_OF,
)


def main():
    module = AnsibleModule(
        argument_spec=MAIN_CF_ARGUMENT_SPEC,
        required_one_of=MAIN_CF_REQUIRED_ONE_OF,
        supports_check_mode=True,
    )
    module.fail_json(
        msg='postform.postfix.main_cf runs through its action plugin, which sends the postform '
            'binary for the target; this Python file holds only its documentation and argument '
            'spec. Check that the collection is installed whole (plugins/action/main_cf.py).'
    )


if __name__ == '__main__':
    main()
