#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0
#
# Documentation and argument spec. The module itself is the compiled postform
# binary in files/bin/main_cf_<system>_<arch> (the same binary as main_cf; it
# tells the modules apart by the module name Ansible passes). The action
# plugin of the same name fills in the pending actions and runs the binary.

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

DOCUMENTATION = r"""
---
module: service_action
short_description: Run the Postfix reload or restart that earlier main_cf tasks left pending
version_added: 0.1.0
description:
  - Runs, once per Postfix config dir, the strongest service action that
    M(postform.postfix.main_cf) tasks recorded in the host fact C(postform_postfix_pending)
    since it was last handled (V(restart) wins over V(reload)), then removes the
    directories it handled from the fact.
  - Meant as a handler. The role C(postform.postfix.service) provides one listening on the
    topic C(postform.postfix.service); notify that from every M(postform.postfix.main_cf)
    task. Because the pending action lives in a fact, a restart needed by the first task is
    not lost when a later task or loop item changes nothing, or reuses the C(register)
    variable.
  - How an action runs, with O(service=auto) - for C(/etc/postfix) on a systemd host
    C(systemctl reload|restart postfix); for any other config dir (or without systemd)
    C(postfix -c DIR reload), or C(postfix -c DIR stop) then C(postfix -c DIR start) for a
    restart. With the argv dictionary, those commands instead.
  - Nothing is run for a Postfix instance that is not running (the change takes effect
    when it starts), and the directory is cleared. After an action the instance must be
    running, or the task fails with Postfix's own message; failed directories stay pending.
  - With nothing pending, nothing is sent to the host and the task reports C(ok).
author:
  - postform developers (@postform)
options:
  pending:
    description:
      - Config dir -> V(none), V(reload) or V(restart).
      - When not given, the host fact C(postform_postfix_pending) that
        M(postform.postfix.main_cf) maintains. Give it to handle chosen directories
        yourself; the fact then loses only the directories handled.
      - A leading C(~) is expanded on the target.
    type: dict
  service:
    description:
      - V(auto) detects how Postfix is run (see the description).
      - "A dictionary C({reload: [argv...], restart: [argv...]}) runs those commands (no
        shell) instead; a missing one falls back to C(postfix -c DIR)."
    type: raw
    default: auto
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - ansible.builtin.action_common_attributes.flow
  - ansible.builtin.action_common_attributes.facts
attributes:
  check_mode:
    support: full
    details: Reports what it would run (V(changed=true)) and clears the pending actions, since check mode wrote nothing.
  diff_mode:
    support: none
  platform:
    platforms: linux
    support: full
  action:
    support: full
  async:
    support: none
    details: The pending fact is not cleared for async tasks.
  bypass_host_loop:
    support: none
  facts:
    support: full
    details: Updates C(postform_postfix_pending).
notes:
  - Handlers run at the end of the play, or at C(meta flush_handlers). When a task fails
    between a change and the handlers, use C(force_handlers) so Postfix still restarts.
seealso:
  - module: postform.postfix.main_cf
"""

EXAMPLES = r"""
# Most plays use the role postform.postfix.service, which brings this
# handler; notify postform.postfix.service from every main_cf task.
# The same handler written out, with custom commands:
- name: Reload or restart Postfix as the changes need
  listen: postform.postfix.service
  postform.postfix.service_action:
    service:
      reload: [/usr/sbin/postfix, reload]
      restart: [/usr/bin/systemctl, restart, postfix]

- name: Handle only one instance now, the rest later
  postform.postfix.service_action:
    pending:
      /etc/postfix-out: "{{ ansible_facts.postform_postfix_pending['/etc/postfix-out'] | default('none') }}"
"""

RETURN = r"""
# On failure: changed, failed, msg, actions, done (the directories handled
# before the failure are not removed from the fact then; rerun the handler).
changed:
  description: Whether a reload or restart ran (in check mode, would run).
  returned: always
  type: bool
msg:
  description: What was run per config dir, or why nothing was.
  returned: always
  type: str
  sample: "pending Postfix service actions handled: /etc/postfix: ran `systemctl restart postfix`; Postfix is running"
actions:
  description: One entry per config dir in O(pending), sorted by directory.
  returned: always
  type: list
  elements: dict
  contains:
    config_dir:
      description: The config dir (C(~) expanded).
      type: str
    pending:
      description: The action that was pending, V(none), V(reload) or V(restart).
      type: str
    ran:
      description: What ran; V(none) in check mode or when that Postfix was not running.
      type: str
    message:
      description: The command run and Postfix's state after it, or why nothing ran, or the error.
      type: str
done:
  description: The config dirs with nothing pending any more (removed from the fact).
  returned: always
  type: list
  elements: str
ansible_facts:
  description: Facts the action plugin sets on the host.
  returned: success
  type: dict
  contains:
    postform_postfix_pending:
      description: What is still pending after this task (usually empty).
      type: dict
      sample: {}
"""


from ansible.module_utils.basic import AnsibleModule
from ansible_collections.postform.postfix.plugins.module_utils.argspecs import (
    SERVICE_ACTION_ARGUMENT_SPEC,
)


def main():
    module = AnsibleModule(argument_spec=SERVICE_ACTION_ARGUMENT_SPEC, supports_check_mode=True)
    module.fail_json(
        msg='postform.postfix.service_action runs through its action plugin, which sends the '
            'postform binary for the target; this Python file holds only its documentation '
            'and argument spec.'
    )


if __name__ == '__main__':
    main()
