# -*- coding: utf-8 -*-
# Copyright (c) postform developers
# SPDX-License-Identifier: MIT OR Apache-2.0
"""Action plugin for postform.postfix.main_cf.

Checks the option names on the controller, runs the postform binary for the
target's platform as the module and keeps the service action the change
needs pending (``plugins/plugin_utils/converge_action.py``).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.postform.postfix.plugins.module_utils.argspecs import (
    MAIN_CF_ARGUMENT_SPEC,
    MAIN_CF_REQUIRED_ONE_OF,
)
from ansible_collections.postform.postfix.plugins.plugin_utils.converge_action import ConvergeAction


class ActionModule(ConvergeAction):

    MODULE_FQCN = 'postform.postfix.main_cf'
    ARGUMENT_SPEC = MAIN_CF_ARGUMENT_SPEC
    REQUIRED_ONE_OF = MAIN_CF_REQUIRED_ONE_OF
    UNKNOWN_OPTION_HINT = 'Postfix parameters go under `parameters:`.'
