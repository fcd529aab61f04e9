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
module: config
short_description: Keep a whole Postfix configuration in the state a postform spec declares
version_added: 0.1.0
description:
  - Applies a whole L(postform,https://crates.io/crates/postform) spec - C(main.cf)
    parameters (C(main)), C(master.cf) services (C(master)), lookup tables (C(maps)), the
    aliases file (C(aliases)), allowed safety policies (C(allow)), C(purge), C(service),
    C(postfix_version), C(custom_parameters) - as one plan and one transaction.
  - Every file the spec touches is validated, checked with the real Postfix tools as one
    candidate set, and written all or none; a crash at any moment leaves either the old
    set or the new one. The change needs one service action, the strongest any of its
    files needs, for example a single restart when C(inet_protocols) changes together
    with a new C(master.cf) service.
  - The spec is inline (O(spec), e.g. from the lookup C(postform.postfix.host_spec), which
    resolves a GitOps repository's layers on the controller) or a spec file on the target
    (O(spec_file), with its C(extends) layers).
  - "Sections are handed to the engine as they are. Values of lookup tables the spec marks
    secret (C(secret: true), or an entry read from C({file: path}) or C({env: NAME}))
    never appear in the result - not in RV(changes), not in RV(diff), not in the echoed
    options - exactly as if the task had C(no_log) for them."
  - Lookup tables (C(maps)) and the aliases file (C(aliases)) are managed through this module
    only; there is no separate table module. A table belongs to the same change as the
    C(main.cf) parameter that names it, so both are validated, checked and written in one
    transaction with one service action (V(none) for an indexed table or the aliases file,
    V(reload) for regexp, pcre, cidr and texthash tables and for a missing index built).
  - A table the engine could not read, and so did not plan, is named in RV(warnings), and
    nothing is written for it; it is never dropped silently.
  - Reports what the change needs from Postfix in RV(service_action) and, by default
    (O(service=none)), leaves it pending for the handler of the role
    C(postform.postfix.service), like M(postform.postfix.main_cf) (see there).
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
  spec:
    description:
      - "An inline spec, a dictionary in the full spec-file form, for example
        C({main: {inet_protocols: ipv4}, master: {submission/inet: {command: smtpd}}})."
      - "C(extends) paths and C({file: path}) secrets in it are read on the target, relative
        to the module's working directory; resolve layers on the controller with the lookup
        C(postform.postfix.host_spec) instead."
      - Exactly one of O(spec) and O(spec_file) is required.
    type: dict
  spec_file:
    description:
      - "The path of a spec file on the target (YAML, short or full form), with its
        C(extends) layers and C({file: path}) secrets resolved relative to the file."
      - Use an absolute path; a relative one is resolved against the module's working
        directory on the target. A leading C(~) is expanded on the target.
    type: path
  config_dir:
    description:
      - The Postfix configuration directory holding C(main.cf) and C(master.cf), like
        C(postconf -c).
      - A leading C(~) or C(~user) is expanded on the target, as the target's user sees it.
      - In check mode a missing C(main.cf) (or, when the spec has services, C(master.cf)) is
        planned against an empty file instead of failing; see RV(main_cf_exists).
    type: path
    default: /etc/postfix
  purge:
    description:
      - Also remove what the spec does not name - every C(main.cf) parameter, and when the
        spec has a C(master) section every service and C(-o) option it does not name.
      - When not given, the spec's own C(purge) applies (default V(false)).
    type: bool
  validate:
    description:
      - Validate the spec and the candidate files (with C(postconf) and C(postfix check)
        when installed) before writing. Problems the live files already have are warnings;
        problems the change would introduce fail the task.
    type: bool
    default: true
  service:
    description:
      - What to do with the Postfix daemon after a change; the values of
        O(postform.postfix.main_cf#module:service).
      - When not given, the spec's own C(service) applies, else V(none) (leave the action
        pending for the handler).
    type: raw
  backup:
    description:
      - Keep a timestamped copy of each file the change rewrites next to it. Their paths are
        returned in RV(backup_files).
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    details: Computes and reports the change, its diffs and RV(service_action) without writing.
  diff_mode:
    support: full
    details: Returns every changed file before and after (a list when there are several), except secret tables.
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
  - Writing C(/etc/postfix) needs root; use C(become).
  - With C(no_log) the values in RV(changes) are hidden and no diff is returned.
  - M(postform.postfix.main_cf) and M(postform.postfix.master_cf) manage one file each and
    let several roles each own a part of it; use this module when one spec owns the whole
    configuration of a host (GitOps).
seealso:
  - module: postform.postfix.main_cf
  - module: postform.postfix.master_cf
  - module: postform.postfix.service_action
  - plugin: postform.postfix.host_spec
    plugin_type: lookup
  - name: postform documentation
    description: The spec format, the CLI and the GitOps mode share this engine.
    link: https://crates.io/crates/postform
"""

EXAMPLES = r"""
# Notify the handler of the role postform.postfix.service (roles:
# [postform.postfix.service]); it runs the strongest pending action once.
- name: IPv4 only and the submission service, one change with one restart
  postform.postfix.config:
    spec:
      main:
        inet_protocols: ipv4
      master:
        submission/inet:
          private: n
          command: smtpd
          options:
            syslog_name: postfix/submission
            smtpd_tls_security_level: encrypt
        smtps/inet: null
  become: true
  notify: postform.postfix.service

- name: A host's spec from a GitOps repository on the controller
  postform.postfix.config:
    spec: "{{ lookup('postform.postfix.host_spec', inventory_hostname, repo='/srv/postfix-config') }}"
  become: true
  notify: postform.postfix.service

- name: A spec file deployed to the host, exactly as written there
  postform.postfix.config:
    spec_file: /etc/postform/host.yaml
    backup: true
  become: true
  notify: postform.postfix.service

- name: Relay credentials; the password never shows in the task result
  postform.postfix.config:
    spec:
      main:
        relayhost: "[smtp.example.com]:587"
        smtp_sasl_auth_enable: true
        smtp_sasl_password_maps: hash:/etc/postfix/sasl_passwd
      maps:
        /etc/postfix/sasl_passwd:
          type: hash
          secret: true
          entries:
            "[smtp.example.com]:587": "relayuser:{{ vault_relay_password }}"
  become: true
  notify: postform.postfix.service
"""

RETURN = r"""
# On failure the result holds only changed (false), failed, msg and, when the
# options could be read, invocation: every key marked "success" is absent.
changed:
  description: Whether any file changed (in check mode, whether one would change).
  returned: always
  type: bool
  sample: true
msg:
  description:
    - A one-line account of what was (or would be) changed and what Postfix needs.
    - On failure, what went wrong (with file:line and a hint where there is one).
  returned: always
  type: str
  sample: >-
    changed 2 settings in /etc/postfix/main.cf and /etc/postfix/master.cf: inet_protocols (restart),
    submission/inet (reload); Postfix needs a restart (service_action=restart)
changes:
  description: The planned changes of every file, in the order of the plan.
  returned: success
  type: list
  elements: dict
  contains:
    file:
      description: The file, V(main.cf), V(master.cf) (and the other files the engine manages).
      type: str
      sample: master.cf
    name:
      description: What the change is about, as the CLI prints it.
      type: str
      sample: submission/inet -o syslog_name
    resource:
      description: V(parameter), V(service), V(field), V(option) (and the other resources the engine manages).
      type: str
      sample: option
    service:
      description: For a master.cf change, the service, C(name/type).
      type: str
      sample: submission/inet
    field:
      description: For a master.cf field change, the field.
      type: str
      sample: chroot
    option:
      description: For a master.cf option change, the C(-o) option's name.
      type: str
      sample: syslog_name
    kind:
      description: V(add), V(change), V(remove) or V(dedupe) (see M(postform.postfix.main_cf)).
      type: str
      sample: change
    before:
      description: The value before; null when absent. Hidden for secret tables and under C(no_log).
      type: str
      sample: all
    after:
      description: The value after; null when removed. Hidden for secret tables and under C(no_log).
      type: str
      sample: ipv4
    action:
      description: What this change needs from Postfix, V(restart), V(reload) or V(none).
      type: str
      sample: restart
    secret:
      description: V(true) for a change of a table the spec marks secret (its values are hidden).
      type: bool
      sample: true
service_action:
  description:
    - What this task's change needs from Postfix, the strongest of all its files' changes -
      V(restart), V(reload) or V(none).
    - Reported in check mode too. For handlers use the pending fact (see M(postform.postfix.main_cf)).
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
  sample: "check mode: nothing written, no service action"
files:
  description: Every file of the plan, whether it changes or not.
  returned: success
  type: list
  elements: dict
  contains:
    file:
      description: The kind of file, V(main.cf), V(master.cf) (and the other files the engine manages).
      type: str
      sample: main.cf
    path:
      description: Its path.
      type: str
      sample: /etc/postfix/main.cf
    changed:
      description: Whether the change rewrites it.
      type: bool
      sample: true
    secret:
      description: V(true) for a table the spec marks secret.
      type: bool
      sample: true
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
  description: V(false) when the spec has services, C(master.cf) does not exist and the task ran in check mode.
  returned: in check mode, when master.cf does not exist
  type: bool
  sample: false
backup_files:
  description: Paths of the copies of the files the change rewrote.
  returned: when O(backup=true) and a file changed
  type: list
  elements: str
  sample: [/etc/postfix/main.cf.postform-backup-20240501T120000Z]
diff:
  description:
    - Each changed file before and after; a list when several files change. Secret tables have none.
  returned: in diff mode, when a file changes and no_log is off
  type: raw
  contains:
    before:
      description: The file before.
      type: str
    after:
      description: The file after.
      type: str
    before_header:
      description: The file's path.
      type: str
    after_header:
      description: The file's path.
      type: str
warnings:
  description: Problems the live configuration already has, policy findings that do not block, and option warnings.
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
    CONFIG_ARGUMENT_SPEC,
    CONFIG_MUTUALLY_EXCLUSIVE,
    CONFIG_REQUIRED_ONE_OF,
)


def main():
    module = AnsibleModule(
        argument_spec=CONFIG_ARGUMENT_SPEC,
        required_one_of=CONFIG_REQUIRED_ONE_OF,
        mutually_exclusive=CONFIG_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    module.fail_json(
        msg='postform.postfix.config runs through its action plugin, which sends the postform '
            'binary for the target; this Python file holds only its documentation and argument '
            'spec. Check that the collection is installed whole (plugins/action/config.py).'
    )


if __name__ == '__main__':
    main()
