# depotd post action, version 4. Installed by `depotd erp setup` under an xml id carrying a
# digest of this code (depotd.action_post_<digest>): do not edit it in Odoo.
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
#   type, warehouse, ref, reason, note (the evidence, HTML), lines   what to post (see uplink/odoo/post.go)
# or op 'batch' with items: a list of such requests (consecutive seqs of one depot), each
# applied in its own savepoint, in order: a refusal of the data is recorded at once as a
# rejection (status rejected, code, message) and the next item goes on; any other failure
# stops the batch at that item (status stopped, message) and what came before commits.
# A run of consecutive receipts that ends as it would one by one (receipt_run) is posted
# together (post_run: every step once on the run's records; results say grouped); when
# that fails, the run is undone and its items go one by one as above.
# Output (the call's result): {'depotd': {'status': ..., ...}}, for a batch
# {'depotd': {'status': 'batch', 'results': [one per item done, in order]}}. Statuses that change
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
#
# Server actions run under safe_eval, which allows top-level functions but no closures:
# the helpers below take everything they use as arguments (or read env and UserError, the
# action's globals), and the lambdas that filter records live at the top level.


def fail(code, msg):
    raise UserError('%s: %s' % (code, msg))


def product_of(n, item):
    prod = env['product.product'].search([('default_code', '=', item or '-')])
    if not prod:
        fail('UNKNOWN_ITEM', 'line %d: no Odoo product has the internal reference %s' % (n, item))
    if len(prod) > 1:
        fail('AMBIGUOUS_ITEM', 'line %d: %d Odoo products have the internal reference %s' % (n, len(prod), item))
    return prod


def location_of(n, name, transit, wh):
    # transit: the warehouse company's inter-warehouse transit location (setup unarchived
    # it), which the depot's in_transit state maps to unless erp.yaml names another.
    if transit:
        loc = wh.company_id.internal_transit_location_id
        if not loc or not loc.active:
            fail('UNKNOWN_LOCATION', 'line %d: the company of warehouse %s has no active transit location (run depotd erp setup)' % (n, wh.code))
        return loc
    loc = env['stock.location'].search([('complete_name', '=', name or '-'), ('usage', 'in', ('internal', 'transit'))], limit=1)
    if not loc:
        fail('UNKNOWN_LOCATION', 'line %d: no internal Odoo location is named %s' % (n, name))
    return loc


def units_of(n, q, digits, signed):
    # Exact arithmetic in units of 10^-digits: Odoo's stock code computes with the values
    # before its float fields convert them (a string fails), so the checked string becomes
    # a float only at the end; with no more decimals than Odoo keeps, Odoo's rounding gives
    # back exactly the depot's decimal.
    q = str(q or '')
    neg = signed and q.startswith('-')
    body = q[1:] if neg else q
    whole, dot, frac = body.partition('.')
    if not whole.isdigit() or (dot and not frac.isdigit()):
        fail('BAD_QTY', 'line %d: %s is not a decimal quantity' % (n, q))
    f = frac.rstrip('0')
    if len(f) > digits:
        fail('BAD_QTY', 'line %d: %s has more decimals than Odoo keeps for quantities (%d)' % (n, q, digits))
    units = int(whole) * 10 ** digits + (int(f.ljust(digits, '0')) if f else 0)
    if not signed and units <= 0:
        fail('BAD_QTY', 'line %d: %s is not a positive decimal quantity' % (n, q))
    return -units if neg else units


def check_uom(n, l, prod):
    if l.get('uom') and l['uom'] != prod.uom_id.name:
        fail('UOM_MISMATCH', 'line %d: %s is counted in %s in Odoo, the depot sent %s' % (n, l['item'], prod.uom_id.name, l['uom']))


def lot_name_of(n, l, prod):
    # A lot the depot keeps for a product Odoo does not track has no place in Odoo: its
    # stock is the product's, lot or not.
    if prod.tracking == 'none':
        return ''
    lot = l.get('serial') or l.get('lot') or ''
    if not lot:
        fail('LOT_REQUIRED', 'line %d: %s is tracked by %s in Odoo and the line has none' % (n, l['item'], prod.tracking))
    return lot


def find_lot(prod, lot):
    if not lot:
        return env['stock.lot']
    return env['stock.lot'].search([('product_id', '=', prod.id), ('name', '=', lot)], limit=1)


def expiry_checked(n, l, prod, lot_rec):
    # A new lot of a product with expiration dates needs its date: without one Odoo would
    # make it up from the product's expiration time, and with none set (0 days) the lot is
    # born expired and the picking stops at a confirmation step. Decided here, from the data.
    if prod.use_expiration_date and not l.get('expiry') and not (lot_rec and lot_rec.expiration_date) and not prod.expiration_time:
        fail('EXPIRY_REQUIRED', 'line %d: %s is managed by expiration date in Odoo and lot %s has none: scan or enter its expiry date, or set the product\'s expiration time in Odoo' % (n, l['item'], l.get('serial') or l.get('lot')))


def scrap_tag(reason):
    if not reason:
        return []
    tag = env['stock.scrap.reason.tag'].search([('name', '=', reason)], limit=1)
    if not tag:
        tag = env['stock.scrap.reason.tag'].create({'name': reason})
    return [Command.link(tag.id)]



def rejection_of(e):
    # The code and message a UserError carries ('<CODE>: <message>'), as Go's rejection()
    # reads them from a single call's 422.
    msg = str(e.args[0] if e.args else e).strip()
    code, sep, rest = msg.partition(': ')
    if sep and rest and 3 <= len(code) <= 41 and code[0].isalpha() and code.replace('_', '').isalpha() and code.upper() == code:
        return code, rest
    return 'ODOO_REFUSED', msg


def record_rejection(req, param, seq, code, message):
    # The seq processed without a movement: the applied seq moves on, the code and message
    # stay in ir.config_parameter depotd.rejected.<depot>_<seq>, which the key points at.
    param.write({'value': str(seq)})
    param.flush_recordset()
    rp = env['ir.config_parameter'].create({'key': 'depotd.rejected.%s' % req['key'][3:],
                                            'value': '%s: %s' % (code or 'REJECTED', message or '')})
    env['ir.model.data'].create({'module': 'depotd', 'name': req['key'], 'model': 'ir.config_parameter',
                                 'res_id': rp.id, 'noupdate': True})
    return {'status': 'rejected', 'applied_seq': seq, 'code': code or 'REJECTED', 'message': message or ''}


def plan_of(typ, lines, wh, digits, vendor, customer):
    # What each line moves, checked: a line Odoo cannot post raises the refusal here,
    # before anything is created.
    plan = []
    n = 0
    for l in lines:
        n += 1
        prod = product_of(n, l.get('item'))
        check_uom(n, l, prod)
        lot = lot_name_of(n, l, prod)
        lot_rec = find_lot(prod, lot)
        p = {'n': n, 'product': prod, 'lot': lot, 'lot_rec': lot_rec, 'expiry': l.get('expiry') or '', 'line': l}
        if typ in ('adjustment', 'count'):
            p['loc'] = location_of(n, l.get('to'), l.get('to_transit'), wh)
            p['units'] = units_of(n, l.get('delta'), digits, True)
            if typ == 'count':
                p['expected'] = units_of(n, l.get('expected'), digits, True)
                p['counted'] = units_of(n, l.get('qty'), digits, True)
            if prod.tracking == 'serial' and abs(p['units']) > 10 ** digits:
                fail('BAD_QTY', 'line %d: %s is tracked by serial number: one unit per serial' % (n, l['item']))
            if lot and not lot_rec and p['units'] < 0:
                fail('UNKNOWN_LOT', 'line %d: %s has no lot or serial %s in Odoo to take stock from' % (n, l['item'], lot))
        else:
            p['units'] = units_of(n, l.get('qty'), digits, False)
            if prod.tracking == 'serial' and p['units'] != 10 ** digits:
                fail('BAD_QTY', 'line %d: %s is tracked by serial number: one unit per serial, not %s' % (n, l['item'], l.get('qty')))
            if typ in ('receipt', 'return'):
                p['src'] = vendor if typ == 'receipt' else customer
            else:
                p['src'] = location_of(n, l.get('from'), l.get('from_transit'), wh)
            if typ in ('issue', 'scrap'):
                p['dest'] = customer
            else:
                p['dest'] = location_of(n, l.get('to'), l.get('to_transit'), wh)
            if typ in ('receipt', 'return'):
                if not lot_rec:
                    expiry_checked(n, l, prod, lot_rec)
            elif lot and not lot_rec:
                # Stock leaving or moving inside the warehouse names an existing lot.
                fail('UNKNOWN_LOT', 'line %d: %s has no lot or serial %s in Odoo' % (n, l['item'], lot))
        plan.append(p)
    return plan


def groups_of(plan):
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
    return order, groups


def move_vals(ps, digits):
    total = 0
    for p in ps:
        total += p['units']
    return {'product_id': ps[0]['product'].id, 'product_uom': ps[0]['product'].uom_id.id,
            'product_uom_qty': total / 10 ** digits, 'location_id': ps[0]['src'].id, 'location_dest_id': ps[0]['dest'].id}


def move_line_vals(typ, picking, m, p, digits):
    vals = {'move_id': m.id, 'picking_id': picking.id, 'product_id': m.product_id.id,
            'product_uom_id': m.product_uom.id, 'location_id': p['src'].id,
            'location_dest_id': p['dest'].id, 'quantity': p['units'] / 10 ** digits}
    if p['lot_rec']:
        vals['lot_id'] = p['lot_rec'].id
    elif p['lot']:
        vals['lot_name'] = p['lot']
    if p['expiry'] and typ in ('receipt', 'return') and not p['lot_rec']:
        vals['expiration_date'] = p['expiry'] + ' 00:00:00'
    return vals


def moves_out(ordered):
    out = []
    for m in ordered:
        for ml in m.move_line_ids.sorted('id'):
            out.append({'product_id': m.product_id.id, 'quantity': ml.quantity, 'state': m.state,
                        'lot': ml.lot_id.name or ''})
    return out


def open_picking(wh, typ, ref):
    # The open picking of the warehouse a receipt or an issue names by its ref (by name or
    # origin: a purchase's receipt, a sale's delivery), if any.
    if typ not in ('receipt', 'issue') or not ref:
        return env['stock.picking']
    return env['stock.picking'].search([('picking_type_id.warehouse_id', '=', wh.id),
                                        ('picking_type_code', '=', 'incoming' if typ == 'receipt' else 'outgoing'),
                                        ('state', 'in', ('draft', 'waiting', 'confirmed', 'assigned')),
                                        '|', ('name', '=', ref), ('origin', '=', ref)], order='id', limit=1)


def receipt_run(items, start, digits, vendor, customer):
    # The longest run of receipts from items[start] that posted together end as they would
    # one by one: each the next seq of the depot, its key unclaimed, every line accepted by
    # the same checks (read before anything of the run is made), none received against an
    # open picking, and no new lot or serial named twice (one by one, the second would
    # find the lot the first made). Anything else ends the run and goes alone, in order.
    first = items[start]
    if not isinstance(first, dict) or not first.get('param'):
        return None, []
    param = env['ir.config_parameter'].search([('key', '=', first['param'])], limit=1)
    if not param:
        return None, []
    nxt = int(param.value or '0') + 1
    new_lots = set()
    whs = {}
    run = []
    i = start
    while i < len(items):
        req = items[i]
        if not isinstance(req, dict) or req.get('op') != 'post' or req.get('type') != 'receipt' or not req.get('key'):
            break
        if req.get('param') != first['param'] or req.get('seq') != nxt or not req.get('lines'):
            break
        code = req.get('warehouse') or '-'
        if code not in whs:
            whs[code] = env['stock.warehouse'].search([('code', '=', code)], limit=1)
        wh = whs[code]
        if not wh or open_picking(wh, 'receipt', req.get('ref')):
            break
        # A line refused (or one the action cannot read) goes alone, where its seq gets the
        # answer the one-by-one path gives it.
        sp = env.cr.savepoint()
        try:
            plan = plan_of('receipt', req['lines'], wh, digits, vendor, customer)
            sp.close(rollback=False)
        except Exception:
            sp.close(rollback=True)
            break
        clash = False
        for p in plan:
            if p['lot'] and not p['lot_rec']:
                if (p['product'].id, p['lot']) in new_lots:
                    clash = True
                new_lots.add((p['product'].id, p['lot']))
        if clash:
            break
        run.append((req, wh, plan))
        nxt += 1
        i += 1
    if run:
        names = []
        for r in run:
            names.append(r[0]['key'])
        claimed = set(env['ir.model.data'].search([('module', '=', 'depotd'), ('name', 'in', names)]).mapped('name'))
        k = 0
        while k < len(run) and run[k][0]['key'] not in claimed:
            k += 1
        run = run[:k]
    return param, run


def post_run(run, param, digits):
    # A run of receipts as the one-by-one path posts each, but every step on the whole run
    # at once (Odoo's work per record is far below its work per call): the pickings made in
    # one create, confirmed, given their move lines and validated together, the keys
    # created together, all in the caller's one savepoint. Any failure raises, and the
    # caller undoes the run and posts it one by one.
    param.write({'value': str(run[-1][0]['seq'])})
    param.flush_recordset()
    pvals = []
    metas = []
    for req, wh, plan in run:
        order, groups = groups_of(plan)
        moves = []
        for k in order:
            moves.append(Command.create(move_vals(groups[k], digits)))
        pvals.append({'picking_type_id': wh.in_type_id.id, 'location_id': plan[0]['src'].id, 'location_dest_id': plan[0]['dest'].id,
                      'origin': req.get('ref') or req['key'], 'note': req.get('note') or False, 'move_ids': moves})
        metas.append((order, groups))
    pickings = env['stock.picking'].create(pvals)
    pickings.action_confirm()
    mlvals = []
    made = env['stock.move']
    ordereds = []
    for picking, meta in zip(pickings, metas):
        order, groups = meta
        if len(picking.move_ids) != len(order):
            fail('NOT_POSTED', 'Odoo made %d moves for %d products and destinations' % (len(picking.move_ids), len(order)))
        ordered = env['stock.move']
        for k in order:
            m = env['stock.move']
            for mv in picking.move_ids:
                if (mv.product_id.id, mv.location_id.id, mv.location_dest_id.id) == k:
                    m |= mv
            if len(m) != 1:
                fail('NOT_POSTED', 'Odoo did not make one move for a product and destination')
            ordered |= m
            for p in groups[k]:
                mlvals.append(move_line_vals('receipt', picking, m, p, digits))
        made |= ordered
        ordereds.append(ordered)
    made.move_line_ids.unlink()
    env['stock.move.line'].create(mlvals)
    made.write({'picked': True})
    done = pickings.with_context(skip_backorder=True, picking_ids_not_to_backorder=pickings.ids).button_validate()
    if done is not True:
        fail('NOT_VALIDATED', 'Odoo did not validate the receipts together')
    keys = []
    out = []
    for r, picking, ordered in zip(run, pickings, ordereds):
        req = r[0]
        if picking.state != 'done':
            fail('NOT_VALIDATED', 'Odoo did not validate the receipt (state %s)' % picking.state)
        keys.append({'module': 'depotd', 'name': req['key'], 'model': 'stock.picking', 'res_id': picking.id, 'noupdate': True})
        out.append({'depot': req.get('depot'), 'seq': req['seq'], 'status': 'applied', 'applied_seq': req['seq'], 'model': 'stock.picking',
                    'picking_id': picking.id, 'picking': picking.name, 'moves': moves_out(ordered), 'grouped': True})
    env['ir.model.data'].create(keys)
    return out


PICKING_TYPES = ('receipt', 'issue', 'transfer', 'status', 'return')
top = env.context.get('depotd') or {}
batch = top.get('op') == 'batch'
items = (top.get('items') or []) if batch else [top]
if batch and not isinstance(items, list):
    items = []
results = []
# Items before alone_until go one by one: posting them together failed.
alone_until = 0
i = 0
while i < len(items):
    req = items[i]
    if batch and i >= alone_until:
        digits = env['decimal.precision'].precision_get('Product Unit')
        param, run = receipt_run(items, i, digits, env.ref('stock.stock_location_suppliers'), env.ref('stock.stock_location_customers'))
        if len(run) > 1:
            sp = env.cr.savepoint()
            try:
                together = post_run(run, param, digits)
                sp.close(rollback=False)
            except Exception:
                # A refusal only validating shows (an expired lot), or anything else: the
                # run is undone whole and each of its seqs goes alone, where a refusal is
                # that seq's own and any other failure stops the batch as it would.
                sp.close(rollback=True)
                together = []
                alone_until = i + len(run)
            if together:
                results += together
                i += len(together)
                continue
    i += 1
    if not isinstance(req, dict):
        results.append({'status': 'bad_request'})
        break
    # Each transaction in its own savepoint: a refusal undoes only its own changes.
    seq = 0
    sp = env.cr.savepoint()
    try:
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
            typ = req.get('type')
            if req['op'] == 'reject':
                res.update(record_rejection(req, param, seq, req.get('code'), req.get('message')))
            elif req['op'] == 'void':
                env['ir.model.data'].create({'module': 'depotd', 'name': req['key'], 'model': 'ir.config_parameter',
                                             'res_id': param.id, 'noupdate': True})
                res.update(status='voided', applied_seq=seq)
            elif typ not in PICKING_TYPES + ('adjustment', 'count', 'scrap'):
                fail('UNSUPPORTED_TYPE', 'transactions of type %s are not posted to Odoo' % typ)
            else:
                wh = env['stock.warehouse'].search([('code', '=', req.get('warehouse') or '-')], limit=1)
                if not wh:
                    fail('UNKNOWN_WAREHOUSE', 'no Odoo warehouse has the short name %s' % req.get('warehouse'))
                digits = env['decimal.precision'].precision_get('Product Unit')
                vendor = env.ref('stock.stock_location_suppliers')
                customer = env.ref('stock.stock_location_customers')
                lines = req.get('lines') or []
                if not lines:
                    fail('NO_LINES', 'the transaction has no lines')
                plan = plan_of(typ, lines, wh, digits, vendor, customer)
                if typ in ('adjustment', 'count'):
                    # An inventory adjustment on the quant, as Odoo's own Physical Inventory does,
                    # by the depot's delta: the quant's quantity now (whatever Odoo moved since the
                    # depot counted) plus counted minus expected at the depot. The reference names
                    # the depot, its seq, the reason and, for a count, what was counted and expected.
                    made = env['stock.move']
                    out = []
                    for p in plan:
                        prod = p['product']
                        # Looked up again: an earlier line of this transaction may have made it.
                        lot_rec = p['lot_rec'] or find_lot(prod, p['lot'])
                        if p['lot'] and not lot_rec:
                            vals = {'product_id': prod.id, 'name': p['lot'], 'company_id': wh.company_id.id}
                            if p['expiry']:
                                vals['expiration_date'] = p['expiry'] + ' 00:00:00'
                            lot_rec = env['stock.lot'].create(vals)
                        l = p['line']
                        ref = 'depotd %s seq %d %s' % (req['depot'], seq, typ)
                        if req.get('reason'):
                            ref += ' ' + req['reason']
                        if typ == 'count':
                            ref += ': counted %s, expected %s at the depot, applied %s' % (l.get('qty'), l.get('expected'), l.get('delta'))
                        else:
                            ref += ': applied %s' % l.get('delta')
                        Q = env['stock.quant'].with_context(inventory_mode=True, inventory_name=ref)
                        # A count someone is making in Odoo on this quant (set, not applied yet) is
                        # put back afterwards: applying ours clears it, and theirs is theirs to apply.
                        pending = env['stock.quant'].search([('product_id', '=', prod.id), ('location_id', '=', p['loc'].id),
                                                             ('lot_id', '=', lot_rec.id or False), ('package_id', '=', False),
                                                             ('owner_id', '=', False), ('inventory_quantity_set', '=', True)])
                        kept = []
                        for pq in pending:
                            kept.append((pq, pq.inventory_quantity, pq.user_id.id, pq.inventory_date))
                        quant = Q.create({'product_id': prod.id, 'location_id': p['loc'].id, 'lot_id': lot_rec.id or False,
                                          'inventory_quantity': 0})
                        before = set(env['stock.move'].search([('product_id', '=', prod.id), ('is_inventory', '=', True),
                                                               ('reference', '=', ref)]).ids)
                        quant = Q.browse(quant.id)
                        quant.write({'inventory_quantity': quant.quantity + p['units'] / 10 ** digits})
                        done = quant.action_apply_inventory()
                        if done:
                            fail('NOT_POSTED', 'line %d: Odoo did not apply the inventory adjustment of %s' % (p['n'], l['item']))
                        mv = env['stock.move'].search([('product_id', '=', prod.id), ('is_inventory', '=', True),
                                                       ('reference', '=', ref), ('id', 'not in', list(before))], order='id desc', limit=1)
                        if len(mv) != 1 or mv.state != 'done':
                            fail('NOT_POSTED', 'line %d: Odoo made no done inventory move for %s' % (p['n'], l['item']))
                        mv.write({'origin': req.get('ref') or req['key']})
                        for pq, pqty, puser, pdate in kept:
                            pq.with_context(inventory_mode=True).write({'inventory_quantity': pqty, 'user_id': puser, 'inventory_date': pdate})
                        made |= mv
                        signed = mv.quantity if mv.location_dest_id == p['loc'] else -mv.quantity
                        out.append({'product_id': prod.id, 'quantity': signed, 'state': mv.state, 'lot': lot_rec.name or ''})
                    # An inventory move has no picking to carry a note: the evidence is attached to it.
                    if req.get('note'):
                        env['ir.attachment'].create({'name': 'depotd %s seq %d evidence.html' % (req['depot'], seq), 'res_model': 'stock.move',
                                                     'res_id': made[0].id, 'mimetype': 'text/html',
                                                     'datas': b64encode(req['note'].encode())})
                    env['ir.model.data'].create({'module': 'depotd', 'name': req['key'], 'model': 'stock.move',
                                                 'res_id': made[0].id, 'noupdate': True})
                    res.update(status='applied', applied_seq=seq, model='stock.move', picking_id=made[0].id, picking=made[0].reference, moves=out)
                elif typ == 'scrap':
                    # One stock.scrap per line (a scrap is of one product), tagged with the reason.
                    # Done as Odoo's scrap button does once the quantity check passed: the depot
                    # already threw the goods away, so a shortage in Odoo goes negative like an issue.
                    scraps = env['stock.scrap']
                    out = []
                    tags = scrap_tag(req.get('reason'))
                    for p in plan:
                        sc = env['stock.scrap'].create({
                            'product_id': p['product'].id, 'product_uom_id': p['product'].uom_id.id, 'scrap_qty': p['units'] / 10 ** digits,
                            'location_id': p['src'].id, 'lot_id': p['lot_rec'].id or False, 'company_id': wh.company_id.id,
                            'origin': req.get('ref') or req['key'], 'scrap_reason_tag_ids': tags})
                        sc.do_scrap()
                        if sc.state != 'done':
                            fail('NOT_POSTED', 'line %d: Odoo did not scrap %s' % (p['n'], p['line']['item']))
                        if req.get('note'):
                            sc.message_post(body=req['note'], body_is_html=True)
                        scraps |= sc
                        for ml in sc.move_ids.move_line_ids.sorted('id'):
                            out.append({'product_id': p['product'].id, 'quantity': ml.quantity, 'state': ml.move_id.state, 'lot': ml.lot_id.name or ''})
                    env['ir.model.data'].create({'module': 'depotd', 'name': req['key'], 'model': 'stock.scrap',
                                                 'res_id': scraps[0].id, 'noupdate': True})
                    res.update(status='applied', applied_seq=seq, model='stock.scrap', picking_id=scraps[0].id, picking=scraps[0].name, moves=out)
                else:
                    # A state change between two depot states kept in one Odoo location (available
                    # and reserved) moves nothing in Odoo: only the lines that change location count.
                    plan = [p for p in plan if p['src'].id != p['dest'].id]
                if typ in PICKING_TYPES and not plan:
                    env['ir.model.data'].create({'module': 'depotd', 'name': req['key'], 'model': 'ir.config_parameter',
                                                 'res_id': param.id, 'noupdate': True})
                    res.update(status='applied', applied_seq=seq, model='ir.config_parameter', moves=[])
                elif typ in PICKING_TYPES:
                    ptype = {'receipt': wh.in_type_id, 'issue': wh.out_type_id, 'transfer': wh.int_type_id, 'status': wh.int_type_id,
                             'return': wh.out_type_id.return_picking_type_id or wh.in_type_id}[typ]
                    # A return names the delivery it comes back from (ref) when there is one: the
                    # return picking points at it, and each move at the delivered move of its product.
                    delivery = env['stock.picking']
                    if typ == 'return' and req.get('ref'):
                        delivery = env['stock.picking'].search([('name', '=', req['ref']), ('picking_type_id', '=', wh.out_type_id.id),
                                                                ('state', '=', 'done')], limit=1)
                    order, groups = groups_of(plan)
                    # A receipt or an issue whose ref names an open picking of this warehouse (by name
                    # or origin: a purchase's receipt, a sale's delivery) is received or shipped
                    # against it: the depot's lines replace what Odoo reserved or proposed, a product
                    # the picking lacks is added to it, and what is still due stays on a backorder.
                    target = open_picking(wh, typ, req.get('ref'))
                    if target:
                        picking = target
                        extra = []
                        for k in order:
                            if not picking.move_ids.filtered(lambda mv: mv.product_id.id == k[0] and mv.state not in ('done', 'cancel')):
                                total = 0
                                for p in groups[k]:
                                    total += p['units']
                                extra.append(Command.create({'product_id': k[0], 'product_uom': groups[k][0]['product'].uom_id.id,
                                                             'product_uom_qty': total / 10 ** digits, 'location_id': picking.location_id.id,
                                                             'location_dest_id': picking.location_dest_id.id, 'additional': True}))
                        if extra:
                            picking.write({'move_ids': extra})
                        picking.action_confirm()
                        picking.move_line_ids.unlink()
                        if req.get('note'):
                            picking.write({'note': (picking.note or '') + req['note']})
                        ordered = picking.move_ids.browse()
                        for k in order:
                            m = picking.move_ids.filtered(lambda mv: mv.product_id.id == k[0] and mv.state not in ('done', 'cancel'))[:1]
                            if not m:
                                fail('NOT_POSTED', 'Odoo did not add a move for a product to %s' % picking.name)
                            if m not in ordered:
                                ordered |= m
                            for p in groups[k]:
                                # In the product's unit, as the depot counts, whatever unit the
                                # picking's demand is in (a purchase in dozens, say).
                                vals = {'move_id': m.id, 'picking_id': picking.id, 'product_id': m.product_id.id,
                                        'product_uom_id': p['product'].uom_id.id, 'quantity': p['units'] / 10 ** digits,
                                        'location_id': p['src'].id if typ == 'issue' else m.location_id.id,
                                        'location_dest_id': p['dest'].id if typ == 'receipt' else m.location_dest_id.id}
                                if p['lot_rec']:
                                    vals['lot_id'] = p['lot_rec'].id
                                elif p['lot']:
                                    vals['lot_name'] = p['lot']
                                if p['expiry'] and typ == 'receipt' and not p['lot_rec']:
                                    vals['expiration_date'] = p['expiry'] + ' 00:00:00'
                                env['stock.move.line'].create(vals)
                            m.write({'picked': True})
                        vctx = {'skip_backorder': True}
                    else:
                        moves = []
                        for k in order:
                            mvals = move_vals(groups[k], digits)
                            if delivery:
                                orig = delivery.move_ids.filtered(lambda mv: mv.product_id.id == k[0] and mv.state == 'done')
                                if orig:
                                    mvals['origin_returned_move_id'] = orig[0].id
                            moves.append(Command.create(mvals))
                        pvals = {'picking_type_id': ptype.id, 'location_id': plan[0]['src'].id, 'location_dest_id': plan[0]['dest'].id,
                                 'origin': req.get('ref') or req['key'], 'note': req.get('note') or False, 'move_ids': moves}
                        if delivery:
                            pvals['return_id'] = delivery.id
                            if delivery.partner_id:
                                pvals['partner_id'] = delivery.partner_id.id
                        picking = env['stock.picking'].create(pvals)
                        picking.action_confirm()
                        if len(picking.move_ids) != len(order):
                            fail('NOT_POSTED', 'Odoo made %d moves for %d products and destinations' % (len(picking.move_ids), len(order)))
                        ordered = picking.move_ids.browse()
                        for k in order:
                            m = picking.move_ids.filtered(lambda mv: mv.product_id.id == k[0] and mv.location_id.id == k[1] and mv.location_dest_id.id == k[2])
                            if len(m) != 1:
                                fail('NOT_POSTED', 'Odoo did not make one move for a product and destination')
                            ordered |= m
                            m.move_line_ids.unlink()
                            vals = []
                            for p in groups[k]:
                                vals.append(move_line_vals(typ, picking, m, p, digits))
                            env['stock.move.line'].create(vals)
                            m.write({'picked': True})
                        vctx = {'skip_backorder': True, 'picking_ids_not_to_backorder': picking.ids}
                        m.write({'picked': True})
                    # Moving expired goods inside the warehouse (into quarantine, say) or taking them
                    # back from a customer is what a depot does with them: no confirmation step then.
                    # Receiving or shipping them is refused with the lots named.
                    if typ in ('transfer', 'status', 'return'):
                        vctx['skip_expired'] = True
                    done = picking.with_context(**vctx).button_validate()
                    if isinstance(done, dict) and done.get('res_model') == 'expiry.picking.confirmation':
                        expired = picking.move_line_ids.filtered(lambda ml: ml.lot_id.product_expiry_alert or (ml.removal_date and ml.removal_date <= datetime.datetime.now()))
                        names = sorted(set(['%s lot %s' % (ml.product_id.default_code, ml.lot_id.name or ml.lot_name) for ml in expired]))
                        fail('LOT_EXPIRED', '%s: past its removal or expiration date in Odoo; a supervisor decides before it is %s' % (
                            ', '.join(names) or '?', 'received' if typ == 'receipt' else 'shipped'))
                    if done is not True or picking.state != 'done':
                        fail('NOT_VALIDATED', 'Odoo did not validate the %s (state %s)' % (typ, picking.state))
                    env['ir.model.data'].create({'module': 'depotd', 'name': req['key'], 'model': 'stock.picking',
                                                 'res_id': picking.id, 'noupdate': True})
                    res.update(status='applied', applied_seq=seq, model='stock.picking', picking_id=picking.id, picking=picking.name, moves=moves_out(ordered))
                    if target:
                        bo = env['stock.picking'].search([('backorder_id', '=', picking.id)], order='id desc', limit=1)
                        res['backorder'] = bo.name or ''
        sp.close(rollback=False)
    except UserError as e:
        sp.close(rollback=True)
        if not batch:
            raise  # one transaction per call: Odoo answers 422, the caller records the refusal
        # In a batch the refusal is recorded at once, in order, and the next seq goes on.
        code, message = rejection_of(e)
        res = {'depot': req.get('depot'), 'seq': seq}
        res.update(record_rejection(req, param, seq, code, message))
    except Exception as e:
        sp.close(rollback=True)
        if not results:
            raise  # nothing done yet: the whole call fails and Odoo may retry it (serialization)
        # Not the data's fault (a serialization conflict, an error inside Odoo): the batch
        # stops at this seq, what was done before it commits, and depotd retries from here.
        results.append({'depot': req.get('depot'), 'seq': seq, 'status': 'stopped', 'message': str(e)[:500]})
        break
    results.append(res)
if batch:
    action = {'depotd': {'status': 'batch', 'results': results}}
else:
    action = {'depotd': results[0] if results else {'status': 'bad_request'}}
