#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Documentation and argument spec. The module itself is the compiled postform
# binary in files/bin/main_cf_<system>_<arch> (the same binary as main_cf; it
# tells the modules apart by the module name Ansible passes). The action
# plugin of the same name checks the option names on the controller, picks
# the binary for the target and runs it. This file is never sent to a target;
# its main() only explains that (ansible-test's validate-modules runs it to
# compare the documentation with the spec).

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: master_cf
short_description: Keep Postfix master.cf services in a declared state
version_added: 0.1.0
description:
  - Makes a service of Postfix's C(master.cf) (for example C(submission/inet), a
    content-filter return path on C(127.0.0.1:10025/inet), a C(dovecot/unix) pipe) exist
    with the fields and C(-o) overrides you declare, or not exist, using the
    L(postform,https://crates.io/crates/postform) engine compiled into the module.
  - A service is named C(name/type) exactly as C(postconf -M) names it; C(smtp/inet) and
    C(smtp/unix) are two services. Give it as O(service), or as O(name) and O(type).
    O(services) manages several in one task, as a dictionary like the C(master:) section
    of a postform spec.
  - Only what the task names is enforced; fields and C(-o) options it does not name are
    left as C(master.cf) has them. An option set to V(null) is removed. A new service needs
    O(command); its other fields default to C(-) (C(private) of an inet service to C(n)).
  - Reads C(master.cf) losslessly and edits only the services that change; comments,
    commented-out examples (a new service goes after its commented example, never
    uncommenting it), continuation lines and unusual bytes survive. C(-) compares equal to
    the field's default, so restating a service is a no-op and writes nothing.
  - Validates before writing (field syntax, C(-o) names and values as for C(main.cf), the
    required internal services, the candidate files with the real Postfix) and writes
    atomically, together with any other file of the same change.
  - Every C(master.cf) change needs a C(postfix reload) (RV(service_action=reload)). By
    default the module leaves it pending for the handler of the role
    C(postform.postfix.service), exactly like M(postform.postfix.main_cf) (see there); the
    pending action of a directory is the strongest of all tasks of M(postform.postfix.main_cf),
    M(postform.postfix.master_cf) and M(postform.postfix.config), so a restart and a reload
    pending together run as one restart.
  - The module is a native binary (Linux x86_64 and aarch64, as the installed collection
    provides them). It needs no Python on the target.
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
  service:
    description:
      - The service as C(name/type), e.g. V(submission/inet), V(127.0.0.1:10025/inet),
        V(dovecot/unix). The name of an inet service may be C(port), C(host:port) or
        C([v6]:port).
      - Required unless O(name) and O(type), or O(services), are given.
      - This names the master.cf service; what the module does to the Postfix daemon is
        O(service_mode).
    type: str
  name:
    description:
      - The service name (field 1), with O(type) instead of O(service).
    type: str
  type:
    description:
      - The service type (field 2), with O(name) instead of O(service).
    type: str
    choices: [inet, unix, unix-dgram, fifo, pass]
  services:
    description:
      - Several services in one task (one transfer, one validation, one write), as a
        dictionary C(name/type) to its fields exactly like the C(master:) section of a
        postform spec; V(null) removes a service.
      - Cannot be combined with O(service), O(name), O(type), the field options or O(state).
    type: dict
  private:
    description:
      - Field 3, whether the service is private to the mail system. V(y), V(n) or V(-)
        (the default, C(y)); V(true)/V(false) work too.
      - "Quote the C(-): C(private: \"-\")."
    type: raw
  unpriv:
    description:
      - Field 4, whether the service runs with the mail system's privileges. V(y), V(n) or
        V(-) (the default, C(y)); V(true)/V(false) work too.
    type: raw
  chroot:
    description:
      - Field 5, whether the service runs chrooted to the queue directory. V(y), V(n) or V(-)
        (C(n) since compatibility level 1, else C(y)); V(true)/V(false) work too.
    type: raw
  wakeup:
    description:
      - Field 6, a wake-up time in seconds, the same followed by C(?) (wake up only when
        used) or V(-) (0, never), e.g. V(60) or V(300?).
    type: raw
  maxproc:
    description:
      - Field 7, the process limit (a whole number, V(0) for no limit) or V(-)
        (C(default_process_limit)).
    type: raw
  command:
    description:
      - Field 8, the program (one word, e.g. V(smtpd), V(pipe), V(lmtp)), relative to
        C(daemon_directory). Required for a service C(master.cf) does not have yet.
    type: str
  args:
    description:
      - The words after the command other than C(-o) options (e.g. a pipe's
        C(flags=... user=... argv=...)), as a list; an empty list means none.
      - Not given, the live arguments stay.
    type: list
    elements: str
  options:
    description:
      - The service's C(-o name=value) overrides, as a dictionary. Values are typed and
        checked as in C(main.cf) (booleans as C(yes)/C(no), lists joined with C(, )); a value
        with spaces is written as C(-o { name = value }).
      - V(null) removes that option. Options not named stay as they are.
    type: dict
  state:
    description:
      - V(present), the service exists with the given fields and options.
      - V(absent), every entry of the service is removed with its C(-o) lines (like
        C(postconf -MX)); no field options may be given then.
    type: str
    choices: [present, absent]
    default: present
  config_dir:
    description:
      - The Postfix configuration directory holding C(master.cf) and C(main.cf), like
        C(postconf -c).
      - A leading C(~) or C(~user) is expanded on the target, as the target's user sees it.
      - In check mode a missing C(main.cf) or C(master.cf) (a fresh host) is planned
        against an empty file instead of failing; see RV(master_cf_exists).
    type: path
    default: /etc/postfix
  validate:
    description:
      - Validate the service and the candidate files (with C(postconf) and C(postfix check)
        when installed) before writing. Problems the live files already have are warnings;
        problems the change would introduce fail the task.
    type: bool
    default: true
  service_mode:
    description:
      - What to do with the Postfix daemon after a change; the values of
        O(postform.postfix.main_cf#module:service).
      - V(none) (the default) never touches it; the action stays pending for the handler.
      - V(auto) runs what the change needs (a reload for master.cf), only when Postfix is running.
      - V(reload) or V(restart) run that action after any effective change.
      - "A dictionary C({reload: [argv...], restart: [argv...]}) runs those commands (no
        shell) instead of detecting systemd or C(postfix -c DIR)."
    type: raw
  backup:
    description:
      - Keep a timestamped copy of the previous C(master.cf) next to it when the file
        changes. Its path is returned in RV(backup_file).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Computes and reports the change, its diff and RV(service_action) without writing.
  diff_mode:
    support: full
    details: Returns the whole C(master.cf) before and after the change.
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
  - Writing C(/etc/postfix/master.cf) needs root; use C(become).
  - With C(no_log) the values in RV(changes) are hidden and no diff is returned.
  - A service that C(master.cf) lists twice is edited in its last entry; O(state=absent)
    removes every entry.
  - The binary is copied to the target on every task (binary modules are not
    pipelined), so one task with O(services) is cheaper than a loop over services.
seealso:
  - module: postform.postfix.main_cf
  - module: postform.postfix.config
  - module: postform.postfix.service_action
  - name: master(5)
    description: The master.cf fields and their defaults.
    link: https://www.postfix.org/master.5.html
"""

EXAMPLES = r"""
# Notify the handler of the role postform.postfix.service (roles:
# [postform.postfix.service]); it reloads each config dir once, after all tasks.
- name: The submission service (587) for authenticated clients
  postform.postfix.master_cf:
    service: submission/inet
    private: n
    chroot: n
    command: smtpd
    options:
      syslog_name: postfix/submission
      smtpd_tls_security_level: encrypt
      smtpd_sasl_auth_enable: true
      smtpd_client_restrictions: permit_sasl_authenticated,reject
  become: true
  notify: postform.postfix.service

- name: No SMTPS (465)
  postform.postfix.master_cf:
    name: smtps
    type: inet
    state: absent
  become: true
  notify: postform.postfix.service

- name: Remove one -o override, keep the rest of the service as it is
  postform.postfix.master_cf:
    service: submission/inet
    options:
      smtpd_client_restrictions: null
  become: true
  notify: postform.postfix.service

- name: A content filter and its return path, in one task
  postform.postfix.master_cf:
    services:
      smtp-amavis/unix:
        chroot: n
        maxproc: 2
        command: lmtp
        options:
          lmtp_data_done_timeout: 1200
      127.0.0.1:10025/inet:
        chroot: n
        command: smtpd
        options:
          content_filter: ""
          smtpd_recipient_restrictions: permit_mynetworks,reject
          mynetworks: 127.0.0.0/8
  become: true
  notify: postform.postfix.service

- name: Preview without touching anything
  postform.postfix.master_cf:
    service: submission/inet
    command: smtpd
  check_mode: true
  diff: true
  register: preview
"""

RETURN = r"""
# On failure the result holds only changed (false), failed, msg and, when the
# options could be read, invocation: every key marked "success" is absent.
changed:
  description: Whether C(master.cf) changed (in check mode, whether it would change).
  returned: always
  type: bool
  sample: true
msg:
  description:
    - A one-line account of what was (or would be) changed and what Postfix needs.
    - On failure, what went wrong (with a hint where there is one).
  returned: always
  type: str
  sample: "changed 1 setting in /etc/postfix/master.cf: submission/inet (reload); Postfix needs a reload (service_action=reload)"
changes:
  description: The planned changes, one per service, field or C(-o) option, in the order of the plan.
  returned: success
  type: list
  elements: dict
  contains:
    file:
      description: The file, V(master.cf).
      type: str
      sample: master.cf
    name:
      description: What the change is about, as the CLI prints it (C(service), C(service field), C(service -o option)).
      type: str
      sample: submission/inet -o syslog_name
    resource:
      description: V(service) (the whole service added or removed), V(field) or V(option).
      type: str
      sample: option
    service:
      description: The service, C(name/type).
      type: str
      sample: submission/inet
    field:
      description: For a field change, the field (V(private), V(unpriv), V(chroot), V(wakeup), V(maxproc), V(command), V(args)).
      type: str
      sample: chroot
    option:
      description: For an option change, the C(-o) option's name.
      type: str
      sample: syslog_name
    kind:
      description: V(add), V(change) or V(remove).
      type: str
      sample: add
    before:
      description: The value before (for a service, its whole entry as one line); null when absent.
      type: str
    after:
      description: The value after; null when removed.
      type: str
      sample: postfix/submission
    action:
      description: What this change needs from Postfix, V(reload) for every master.cf change.
      type: str
      sample: reload
service_action:
  description:
    - What this task's change needs from Postfix, V(reload) or V(none) (nothing effective changed).
    - Reported in check mode too. For handlers use the pending fact (see M(postform.postfix.main_cf)).
  returned: success
  type: str
  sample: reload
service_ran:
  description: The service action the module actually ran, V(restart), V(reload) or V(none).
  returned: success
  type: str
  sample: none
service_message:
  description: What the service step did, or why it did nothing (e.g. Postfix not running, check mode).
  returned: success
  type: str
  sample: "check mode: nothing written, no service action"
master_cf:
  description: Path of the master.cf file the module worked on.
  returned: success
  type: str
  sample: /etc/postfix/master.cf
config_dir:
  description: The config dir as the target resolved it (C(~) expanded, trailing C(/) removed); the key of the pending action.
  returned: success
  type: str
  sample: /etc/postfix
main_cf_exists:
  description: V(false) when C(main.cf) does not exist and the task ran in check mode (planned against an empty file).
  returned: in check mode, when main.cf does not exist
  type: bool
  sample: false
master_cf_exists:
  description: V(false) when C(master.cf) does not exist and the task ran in check mode (planned against an empty file).
  returned: in check mode, when master.cf does not exist
  type: bool
  sample: false
backup_file:
  description: Path of the copy of the previous master.cf.
  returned: when O(backup=true) and master.cf changed
  type: str
  sample: /etc/postfix/master.cf.postform-backup-20240501T120000Z
diff:
  description:
    - The whole master.cf before and after (bytes that are not UTF-8 are shown as U+FFFD).
  returned: in diff mode, when master.cf changes and no_log is off
  type: dict
  contains:
    before:
      description: master.cf before.
      type: str
    after:
      description: master.cf after.
      type: str
    before_header:
      description: The path of master.cf.
      type: str
    after_header:
      description: The path of master.cf.
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
      sample: {"/etc/postfix": "reload"}
"""


from ansible.module_utils.basic import AnsibleModule
from ansible_collections.postform.postfix.plugins.module_utils.argspecs import (
    MASTER_CF_ARGUMENT_SPEC,
    MASTER_CF_MUTUALLY_EXCLUSIVE,
    MASTER_CF_REQUIRED_ONE_OF,
    MASTER_CF_REQUIRED_TOGETHER,
)


def main():
    module = AnsibleModule(
        argument_spec=MASTER_CF_ARGUMENT_SPEC,
        required_one_of=MASTER_CF_REQUIRED_ONE_OF,
        mutually_exclusive=MASTER_CF_MUTUALLY_EXCLUSIVE,
        required_together=MASTER_CF_REQUIRED_TOGETHER,
        supports_check_mode=True,
    )
    module.fail_json(
        msg='postform.postfix.master_cf runs through its action plugin, which sends the postform '
            'binary for the target; this Python file holds only its documentation and argument '
            'spec. Check that the collection is installed whole (plugins/action/master_cf.py).'
    )


if __name__ == '__main__':
    main()
