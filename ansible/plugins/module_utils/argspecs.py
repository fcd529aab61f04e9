# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Argument specs of the postform.postfix modules.

One place for the option names, types and defaults, used three ways:

* ``plugins/modules/<name>.py`` builds its ``AnsibleModule`` from them, so
  ``ansible-test sanity`` (validate-modules) checks the documentation
  against them;
* the action plugins check the task's option *names* (and
  ``required_one_of``) on the controller, before the binary is sent;
* ``tests/ansible.rs`` checks that the names equal the options the Rust
  module accepts (``postform::frontends::ansible::OPTIONS``,
  ``...::master_cf::OPTIONS``, ``...::config::OPTIONS``,
  ``...::service_action::OPTIONS``).

Values are checked by the module itself on the target (postform's messages
name the problem and suggest a fix).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

MAIN_CF_ARGUMENT_SPEC = dict(
    parameters=dict(type='dict'),
    spec=dict(type='raw'),
    config_dir=dict(type='path', default='/etc/postfix'),
    purge=dict(type='bool'),
    validate=dict(type='bool', default=True),
    service=dict(type='raw'),
    backup=dict(type='bool', default=False),
)

MAIN_CF_REQUIRED_ONE_OF = [('parameters', 'spec')]

MASTER_CF_ARGUMENT_SPEC = dict(
    service=dict(type='str'),
    name=dict(type='str'),
    type=dict(type='str', choices=['inet', 'unix', 'unix-dgram', 'fifo', 'pass']),
    services=dict(type='dict'),
    private=dict(type='raw'),
    unpriv=dict(type='raw'),
    chroot=dict(type='raw'),
    wakeup=dict(type='raw'),
    maxproc=dict(type='raw'),
    command=dict(type='str'),
    args=dict(type='list', elements='str'),
    options=dict(type='dict'),
    state=dict(type='str', choices=['present', 'absent'], default='present'),
    config_dir=dict(type='path', default='/etc/postfix'),
    validate=dict(type='bool', default=True),
    service_mode=dict(type='raw'),
    backup=dict(type='bool', default=False),
)

MASTER_CF_REQUIRED_ONE_OF = [('service', 'name', 'services')]
MASTER_CF_MUTUALLY_EXCLUSIVE = [('service', 'name'), ('service', 'services'), ('name', 'services')]
MASTER_CF_REQUIRED_TOGETHER = [('name', 'type')]

CONFIG_ARGUMENT_SPEC = dict(
    spec=dict(type='dict'),
    spec_file=dict(type='path'),
    config_dir=dict(type='path', default='/etc/postfix'),
    purge=dict(type='bool'),
    validate=dict(type='bool', default=True),
    service=dict(type='raw'),
    backup=dict(type='bool', default=False),
)

CONFIG_REQUIRED_ONE_OF = [('spec', 'spec_file')]
CONFIG_MUTUALLY_EXCLUSIVE = [('spec', 'spec_file')]

SERVICE_ACTION_ARGUMENT_SPEC = dict(
    pending=dict(type='dict'),
    service=dict(type='raw', default='auto'),
)

# The host fact in which the main_cf, master_cf and config action plugins
# keep the strongest pending service action per config dir, e.g.
# {"/etc/postfix": "restart"}.
PENDING_FACT = 'postform_postfix_pending'

SERVICE_ACTIONS = ('none', 'reload', 'restart')
