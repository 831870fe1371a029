# depotd post action, version 1. Installed and kept up to date by `depotd erp setup`
# (which rewrites it when it differs): do not edit it in Odoo.
#
# Applies one depot transaction exactly once and in seq order, inside the one database
# transaction of this call. Input: env.context['depotd'], built by depotd (uplink/odoo):
#   op        'post' (apply the movement), 'reject' (record the seq as processed without one,
#             refused: code and message are kept in ir.config_parameter
#             depotd.rejected.<depot>.<seq>, which the key points at) or 'void' (a seq a depot
#             restore skipped: processed without a movement)
#   depot     the depot id; seq its transaction's seq
#   key       the idempotency key, an ir.model.data name in module 'depotd' (tx_<depot>_<seq>)
#   param     the ir.config_parameter holding the depot's applied seq (made by setup)
#   type, warehouse, ref, note, lines   what to post (see uplink/odoo/post.go)
# Output (the call's result): {'depotd': {'status': ..., ...}}. Statuses that change
# nothing: duplicate (the key exists; for a rejected seq with its code and message), gap (seq is beyond applied+1), behind (seq is at or
# below the applied seq but has no key), not_set_up, bad_request. Changes: applied, rejected,
# voided.
# A refusal that is the data's fault raises UserError('<CODE>: <message>'): Odoo rolls
# the whole call back and answers 422.
#
# Exactly once: the depot's param row is written (and flushed, which locks it) before
# anything else is created. A second call for the same depot running at the same time
# waits on that lock; when the first commits, the second fails with a serialization
# error, Odoo runs it again from the start, and it then finds the key: 'duplicate'.
req = env.context.get('depotd') or {}
seq = int(req.get('seq') or 0)
res = {'depot': req.get('depot'), 'seq': seq}
param = env['ir.config_parameter'].search([('key', '=', req.get('param') or '-')], limit=1)
existing = env['ir.model.data'].search([('module', '=', 'depotd'), ('name', '=', req.get('key') or '-')], limit=1)
applied = int(param.value or '0') if param else 0
if req.get('op') not in ('post', 'reject', 'void') or seq < 1 or not req.get('key'):
    res['status'] = 'bad_request'
elif not param:
    res['status'] = 'not_set_up'
elif existing:
    res.update(status='duplicate', model=existing.model, res_id=existing.res_id, applied_seq=applied)
    if existing.model == 'ir.config_parameter':
        rp = env['ir.config_parameter'].browse(existing.res_id).exists()
        if rp and rp.key.startswith('depotd.rejected.'):
            res['rejection'] = rp.value
elif seq <= applied:
    res.update(status='behind', applied_seq=applied)
elif seq > applied + 1:
    res.update(status='gap', applied_seq=applied)
else:
    param.write({'value': str(seq)})
    param.flush_recordset()
    if req['op'] == 'reject':
        rp = env['ir.config_parameter'].create({'key': 'depotd.rejected.%s' % req['key'][3:],
                                                'value': '%s: %s' % (req.get('code') or 'REJECTED', req.get('message') or '')})
        env['ir.model.data'].create({'module': 'depotd', 'name': req['key'], 'model': 'ir.config_parameter',
                                     'res_id': rp.id, 'noupdate': True})
        res.update(status='rejected', applied_seq=seq)
    elif req['op'] == 'void':
        env['ir.model.data'].create({'module': 'depotd', 'name': req['key'], 'model': 'ir.config_parameter',
                                     'res_id': param.id, 'noupdate': True})
        res.update(status='voided', applied_seq=seq)
    elif req.get('type') not in ('receipt', 'issue', 'transfer'):
        raise UserError('UNSUPPORTED_TYPE: transactions of type %s are not posted to Odoo yet' % req.get('type'))
    else:
        typ = req['type']
        wh = env['stock.warehouse'].search([('code', '=', req.get('warehouse') or '-')], limit=1)
        if not wh:
            raise UserError('UNKNOWN_WAREHOUSE: no Odoo warehouse has the short name %s' % req.get('warehouse'))
        digits = env['decimal.precision'].precision_get('Product Unit')
        vendor = env.ref('stock.stock_location_suppliers')
        customer = env.ref('stock.stock_location_customers')
        ptype = {'receipt': wh.in_type_id, 'issue': wh.out_type_id, 'transfer': wh.int_type_id}[typ]
        lines = req.get('lines') or []
        if not lines:
            raise UserError('NO_LINES: the transaction has no lines')
        plan = []
        n = 0
        for l in lines:
            n += 1
            prod = env['product.product'].search([('default_code', '=', l.get('item') or '-')])
            if not prod:
                raise UserError('UNKNOWN_ITEM: line %d: no Odoo product has the internal reference %s' % (n, l.get('item')))
            if len(prod) > 1:
                raise UserError('AMBIGUOUS_ITEM: line %d: %d Odoo products have the internal reference %s' % (n, len(prod), l.get('item')))
            if typ == 'receipt':
                src = vendor
            else:
                src = env['stock.location'].search([('complete_name', '=', l.get('from') or '-'), ('usage', '=', 'internal')], limit=1)
                if not src:
                    raise UserError('UNKNOWN_LOCATION: line %d: no internal Odoo location is named %s' % (n, l.get('from')))
            if typ == 'issue':
                dest = customer
            else:
                dest = env['stock.location'].search([('complete_name', '=', l.get('to') or '-'), ('usage', '=', 'internal')], limit=1)
                if not dest:
                    raise UserError('UNKNOWN_LOCATION: line %d: no internal Odoo location is named %s' % (n, l.get('to')))
            q = str(l.get('qty') or '')
            whole, dot, frac = q.partition('.')
            if not whole.isdigit() or (dot and not frac.isdigit()) or float(q) <= 0:
                raise UserError('BAD_QTY: line %d: %s is not a positive decimal quantity' % (n, q))
            if len(frac.rstrip('0')) > digits:
                raise UserError('BAD_QTY: line %d: %s has more decimals than Odoo keeps for quantities (%d)' % (n, q, digits))
            if l.get('uom') and l['uom'] != prod.uom_id.name:
                raise UserError('UOM_MISMATCH: line %d: %s is counted in %s in Odoo, the depot sent %s' % (n, l['item'], prod.uom_id.name, l['uom']))
            lot = l.get('serial') or l.get('lot') or ''
            if prod.tracking != 'none' and not lot:
                raise UserError('LOT_REQUIRED: line %d: %s is tracked by %s in Odoo and the line has none' % (n, l['item'], prod.tracking))
            if prod.tracking == 'serial' and float(q) != 1.0:
                raise UserError('BAD_QTY: line %d: %s is tracked by serial number: one unit per serial, not %s' % (n, l['item'], q))
            # Exact arithmetic in units of 10^-digits: Odoo's stock code computes with the
            # values before its float fields convert them (a string fails), so the checked
            # string becomes a float only at the end; with no more decimals than Odoo
            # keeps, Odoo's rounding gives back exactly the depot's decimal.
            f = frac.rstrip('0')
            units = int(whole) * 10 ** digits + (int(f.ljust(digits, '0')) if f else 0)
            lot_rec = False
            if lot and typ != 'receipt':
                # Stock leaving or moving inside the warehouse names an existing lot.
                lot_rec = env['stock.lot'].search([('product_id', '=', prod.id), ('name', '=', lot)], limit=1)
                if not lot_rec:
                    raise UserError('UNKNOWN_LOT: line %d: %s has no lot or serial %s in Odoo' % (n, l['item'], lot))
            plan.append({'product': prod, 'src': src, 'dest': dest, 'units': units, 'lot': lot, 'lot_rec': lot_rec,
                         'expiry': l.get('expiry') or ''})
        # One move per (product, source, destination): Odoo merges moves of one product on
        # confirm anyway. Each depot line becomes one move line (its own lot and expiry).
        groups = {}
        order = []
        for p in plan:
            k = (p['product'].id, p['src'].id, p['dest'].id)
            if k not in groups:
                groups[k] = []
                order.append(k)
            groups[k].append(p)
        moves = []
        for k in order:
            ps = groups[k]
            total = 0
            for p in ps:
                total += p['units']
            moves.append(Command.create({
                'product_id': ps[0]['product'].id, 'product_uom': ps[0]['product'].uom_id.id,
                'product_uom_qty': total / 10 ** digits, 'location_id': ps[0]['src'].id, 'location_dest_id': ps[0]['dest'].id}))
        picking = env['stock.picking'].create({
            'picking_type_id': ptype.id, 'location_id': plan[0]['src'].id, 'location_dest_id': plan[0]['dest'].id,
            'origin': req.get('ref') or req['key'], 'note': req.get('note') or False, 'move_ids': moves})
        picking.action_confirm()
        if len(picking.move_ids) != len(order):
            raise UserError('NOT_POSTED: Odoo made %d moves for %d products and destinations' % (len(picking.move_ids), len(order)))
        ordered = picking.move_ids.browse()
        for k in order:
            m = picking.move_ids.filtered(lambda mv: mv.product_id.id == k[0] and mv.location_id.id == k[1] and mv.location_dest_id.id == k[2])
            if len(m) != 1:
                raise UserError('NOT_POSTED: Odoo did not make one move for a product and destination')
            ordered |= m
            m.move_line_ids.unlink()
            for p in groups[k]:
                vals = {'move_id': m.id, 'picking_id': picking.id, 'product_id': m.product_id.id,
                        'product_uom_id': m.product_uom.id, 'location_id': p['src'].id,
                        'location_dest_id': p['dest'].id, 'quantity': p['units'] / 10 ** digits}
                if p['lot_rec']:
                    vals['lot_id'] = p['lot_rec'].id
                elif p['lot']:
                    vals['lot_name'] = p['lot']
                if p['expiry'] and typ == 'receipt':
                    vals['expiration_date'] = p['expiry'] + ' 00:00:00'
                env['stock.move.line'].create(vals)
            m.write({'picked': True})
        done = picking.with_context(skip_backorder=True, picking_ids_not_to_backorder=picking.ids).button_validate()
        if done is not True or picking.state != 'done':
            raise UserError('NOT_VALIDATED: Odoo did not validate the %s (state %s)' % (typ, picking.state))
        env['ir.model.data'].create({'module': 'depotd', 'name': req['key'], 'model': 'stock.picking',
                                     'res_id': picking.id, 'noupdate': True})
        out = []
        for m in ordered:
            for ml in m.move_line_ids.sorted('id'):
                out.append({'product_id': m.product_id.id, 'quantity': ml.quantity, 'state': m.state,
                            'lot': ml.lot_id.name or ''})
        res.update(status='applied', applied_seq=seq, picking_id=picking.id, picking=picking.name, moves=out)
action = {'depotd': res}
