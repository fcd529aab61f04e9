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
  ``postform::frontends::ansible::service_action::OPTIONS``).

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

SERVICE_ACTION_ARGUMENT_SPEC = dict(
    pending=dict(type='dict'),
    service=dict(type='raw', default='auto'),
)

# The host fact in which the main_cf action plugin keeps the strongest
# pending service action per config dir, e.g. {"/etc/postfix": "restart"}.
PENDING_FACT = 'postform_postfix_pending'

SERVICE_ACTIONS = ('none', 'reload', 'restart')
